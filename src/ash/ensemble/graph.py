"""The ensemble's ONNX graph: each member's own contract graph (traced, or composed for a fitted
family), names prefixed, fed the last ``member.window`` bars, mixed per horizon."""

from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import compose, helper, numpy_helper

from ash.export.contract import EDGES_NAME, INPUT_NAME, PROBS_NAME
from ash.export.exporter import export_graph
from ash.export.synthetic import synthetic_bars
from ash.model import AshModel


def member_graph(member: AshModel, opset: int) -> onnx.ModelProto:
    """The member's contract graph (what ``ash export`` would write, before metadata)."""
    example = torch.from_numpy(
        synthetic_bars(member.ctx.bar_columns, member.window, 2, bar_seconds=member.ctx.bar_seconds)
    )
    return export_graph(member.eval(), example, opset)


def compose_ensemble(members: list[AshModel], weights: np.ndarray, opset: int) -> onnx.ModelProto:
    """One graph: ``bars[B, W, C]`` → ``probs = Σ_i weights[:, i] · probs_i``, ``edges_0``."""
    width = max(m.window for m in members)
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    opsets: dict[str, int] = {}
    ir_version = 0
    mixed = []
    for i, member in enumerate(members):
        prefix = f"m{i}/"
        graph = compose.add_prefix(member_graph(member, opset), prefix)
        ir_version = max(ir_version, graph.ir_version)
        for entry in graph.opset_import:
            opsets[entry.domain] = max(opsets.get(entry.domain, 0), entry.version)
        start = numpy_helper.from_array(np.array([width - member.window], np.int64), prefix + "s")
        stop = numpy_helper.from_array(np.array([width], np.int64), prefix + "e")
        axis = numpy_helper.from_array(np.array([1], np.int64), prefix + "axis")
        w = weights[:, i].astype(np.float32).reshape(1, -1, 1)
        inits += [start, stop, axis, numpy_helper.from_array(w, prefix + "weight")]
        nodes.append(
            helper.make_node(
                "Slice",
                [INPUT_NAME, prefix + "s", prefix + "e", prefix + "axis"],
                [prefix + INPUT_NAME],
            )
        )
        nodes += list(graph.graph.node)
        inits += list(graph.graph.initializer)
        nodes.append(
            helper.make_node("Mul", [prefix + PROBS_NAME, prefix + "weight"], [prefix + "weighted"])
        )
        mixed.append(prefix + "weighted")
    nodes.append(helper.make_node("Sum", mixed, [PROBS_NAME]))
    nodes.append(helper.make_node("Identity", ["m0/" + EDGES_NAME], [EDGES_NAME]))
    n_columns = len(members[0].ctx.bar_columns)
    graph = helper.make_graph(
        nodes,
        "ash_ensemble",
        [
            helper.make_tensor_value_info(
                INPUT_NAME, onnx.TensorProto.FLOAT, ["batch", width, n_columns]
            )
        ],
        [
            helper.make_tensor_value_info(PROBS_NAME, onnx.TensorProto.FLOAT, None),
            helper.make_tensor_value_info(EDGES_NAME, onnx.TensorProto.FLOAT, None),
        ],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(opsets.items())]
    )
    model.ir_version = ir_version
    return model
