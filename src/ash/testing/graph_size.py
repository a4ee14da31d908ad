"""How big a component's exported graph is: nodes as exported and after ONNX Runtime's optimisation.

At batch 1 a small model's latency is mostly per-node overhead, so a graph that silently grows
back from a few dozen nodes to hundreds is a latency regression no unit test would see. This
module counts; the built-ins' budgets are asserted in the test-suite (a count, never a time).

    from ash.testing import graph_size, feature_builder_graph_size
    size = feature_builder_graph_size(MyBuilder)
    print(size)            # "my_builder: 23 nodes exported, 14 after ONNX Runtime (…)"
    check_node_budget(size, 20)
"""

from __future__ import annotations

import collections
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from ash.interfaces import ComponentConfig, Discretizer, FeatureBuilder, ModelContext
from ash.testing.bars import make_bars
from ash.testing.config_check import default_config
from ash.testing.errors import ConformanceError
from ash.testing.onnx_check import export_onnx

STEPS = 32
"""Positions a model reads from a feature builder (the default experiment's ``steps``)."""


@dataclass(frozen=True)
class GraphSize:
    """Node counts of one exported module (``Constant`` nodes count: a runtime executes them)."""

    what: str
    exported: int  # after ash's export simplification (ash.export.simplify)
    optimized: int  # after ONNX Runtime's full CPU optimisation (what serving executes)
    ops: dict[str, int] = field(default_factory=dict)  # optimised op-type histogram

    def __str__(self) -> str:
        top = ", ".join(f"{op} {n}" for op, n in sorted(self.ops.items(), key=lambda t: -t[1])[:6])
        return (
            f"{self.what}: {self.exported} nodes exported, {self.optimized} after ONNX Runtime "
            f"({top})"
        )


def ort_optimized(proto: onnx.ModelProto) -> onnx.ModelProto:
    """The graph ONNX Runtime runs on CPU after its full (``ORT_ENABLE_ALL``) optimisation."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "optimized.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.optimized_model_filepath = str(target)
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
        return onnx.load_model(str(target))


def size_of(proto: onnx.ModelProto, what: str) -> GraphSize:
    """Counts of an already exported (and simplified) graph."""
    optimized = ort_optimized(proto)
    ops = collections.Counter(n.op_type for n in optimized.graph.node)
    return GraphSize(what, len(proto.graph.node), len(optimized.graph.node), dict(ops))


def graph_size(
    module: nn.Module,
    example: torch.Tensor,
    *,
    what: str,
    output_names: Sequence[str] = ("output",),
) -> GraphSize:
    """Export ``module(example)`` as ash exports (TorchScript, opset 17, dynamic batch, then
    :func:`ash.export.simplify.simplify`) and count its nodes."""
    from ash.export.simplify import simplify

    data = export_onnx(module.eval(), example, what=what, output_names=output_names)
    return size_of(simplify(onnx.load_model_from_string(data)), what)


def feature_builder_graph_size(
    cls: type[FeatureBuilder[Any]],
    config: ComponentConfig | None = None,
    ctx: ModelContext | None = None,
    *,
    steps: int = STEPS,
) -> GraphSize:
    """A feature builder's graph on the window a model feeds it: ``warmup + steps`` bars."""
    from ash.testing.module_checks import default_context

    ctx = ctx or default_context()
    builder = cls(config if config is not None else default_config(cls), ctx)
    bars = make_bars(2, builder.warmup + steps, ctx.bar_columns, seed=1)
    return graph_size(builder, bars, what=f"feature builder {cls.name!r}")


def discretizer_graph_size(
    cls: type[Discretizer[Any]],
    config: ComponentConfig | None = None,
    ctx: ModelContext | None = None,
    *,
    window: int = 332,
) -> GraphSize:
    """A discretizer's edges graph on a ``window``-bar input."""
    from ash.testing.module_checks import default_context

    ctx = ctx or default_context()
    disc = cls(config if config is not None else default_config(cls), ctx)
    bars = make_bars(2, max(window, int(getattr(disc, "min_window", 1))), ctx.bar_columns, seed=1)
    return graph_size(disc, bars, what=f"discretizer {cls.name!r}")


def check_node_budget(size: GraphSize, budget: int) -> None:
    """Raise :class:`ConformanceError` when the optimised graph has more than ``budget`` nodes."""
    if size.optimized > budget:
        raise ConformanceError(
            f"{size} — over its budget of {budget} nodes after ONNX Runtime's optimisation; "
            f"compute all lookbacks in one vectorised op and avoid shape plumbing "
            f"(see ash.components.ops)"
        )
