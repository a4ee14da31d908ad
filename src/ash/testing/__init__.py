"""``ash.testing``: the conformance kit every component (built-in or plugin) must pass.

From a plugin's tests::

    from ash.testing import check_component
    from my_plugin import MyBackbone

    def test_conforms():
        check_component(MyBackbone)                     # default config
        check_component(MyBackbone, MyBackbone.Config(hidden=32))

Each check raises :class:`ConformanceError` (an ``AssertionError``) with a message that names the
rule broken and what to change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ash.interfaces import Component, ComponentConfig
from ash.testing.bars import make_bars, make_extreme_bars, make_returns
from ash.testing.config_check import check_config_roundtrip, default_config
from ash.testing.device_checks import check_no_plain_tensors, check_on_device
from ash.testing.errors import ConformanceError
from ash.testing.family_checks import check_family, check_family_onnx
from ash.testing.graph_size import (
    GraphSize,
    check_node_budget,
    discretizer_graph_size,
    feature_builder_graph_size,
    graph_size,
)
from ash.testing.module_checks import (
    CHECKS,
    check_backbone,
    check_discretizer,
    check_feature_builder,
    check_loss,
    check_model,
    default_context,
)
from ash.testing.onnx_check import check_onnx_parity, export_onnx


def check_component(
    cls: type[Component[Any]], config: ComponentConfig | None = None, **options: Any
) -> None:
    """Run every check for ``cls``'s kind: config round-trip first, then the kind's module checks
    (``check_feature_builder``, ``check_discretizer``, ``check_backbone``, ``check_loss``; a
    source gets the config checks only; a model family ``check_family``). ``options`` go to the
    kind's check (e.g. ``ctx=``, ``onnx=False``)."""
    check_config_roundtrip(cls, config)
    checks: dict[str, Callable[..., None]] = {**CHECKS, "family": check_family}
    check = checks.get(cls.kind)
    if check is not None:
        check(cls, config, **options)


__all__ = [
    "ConformanceError",
    "GraphSize",
    "check_backbone",
    "check_component",
    "check_config_roundtrip",
    "check_discretizer",
    "check_family",
    "check_family_onnx",
    "check_feature_builder",
    "check_loss",
    "check_model",
    "check_no_plain_tensors",
    "check_node_budget",
    "check_on_device",
    "check_onnx_parity",
    "default_config",
    "default_context",
    "discretizer_graph_size",
    "export_onnx",
    "feature_builder_graph_size",
    "graph_size",
    "make_bars",
    "make_extreme_bars",
    "make_returns",
]
