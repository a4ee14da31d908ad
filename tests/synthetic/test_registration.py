"""The ``synthetic`` source is a registered built-in and passes the conformance kit."""

from __future__ import annotations

from ash.registry import load_registry
from ash.synthetic.config import SyntheticConfig
from ash.synthetic.source import SyntheticSource
from ash.testing import check_component


def test_registered_as_a_builtin_source() -> None:
    registry = load_registry(entry_points=False)
    assert registry.get("source", "synthetic") is SyntheticSource


def test_passes_the_conformance_kit() -> None:
    check_component(SyntheticSource)
    check_component(SyntheticSource, SyntheticConfig(preset="stressed", n_days=2))
