"""Export of a model whose family is *fitted* (docs/families.md): three graphs made one.

A fitted family's Python prediction (a LightGBM booster, a numpy regression) cannot be traced,
so the graph is composed from parts that each have one exact source:

1. the **frame**, traced from torch like any model: ``bars`` → design rows ``x`` (the features'
   last step and summaries), the prior's log-probabilities ``base`` and the bucket ``edges``;
2. the **family fragment**, the family's own ``to_onnx`` (``x`` → ``head``);
3. the **tail**, written here from the model's calibration buffers:
   ``probs = softmax((residual_weight · head + base) / temperature)`` — :meth:`AshModel.combine`.

The result has the contract's inputs and outputs; :func:`ash.export.exporter.export_model` fills
the metadata and validates it, and the parity check then compares it with the Python model.
"""

from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torch import nn

from ash.components.families.design import design_matrix
from ash.export.contract import BATCH_DIM_NAME, EDGES_NAME, INPUT_NAME, PROBS_NAME
from ash.export.simplify import simplify
from ash.model import AshModel
from ash.onnx_io import export_onnx

X_NAME, BASE_NAME, HEAD_NAME = "x", "base", "head"


class FrameError(RuntimeError):
    """The family's ONNX fragment does not have the declared input and output."""


class _Frame(nn.Module):
    """``bars`` → ``(x, edges[, base])``: everything of the model but the family and the tail."""

    def __init__(self, model: AshModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, bars: torch.Tensor) -> tuple[torch.Tensor, ...]:
        edges = self.model.edges(bars)
        x = design_matrix(self.model.raw_features(bars))
        if self.model.prior is None:
            return x, edges
        return x, edges, self.model.prior(bars, edges)


def _tail(model: AshModel) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """``head`` (+ ``base``) → ``probs``, with the calibrated constants of ``model``."""
    temperature = model.temperature.detach().cpu().numpy().astype(np.float32).reshape(1, -1, 1)
    inits = [numpy_helper.from_array(temperature, "tail_temperature")]
    nodes = []
    logits = HEAD_NAME
    if model.prior is not None:
        weight = model.residual_weight.detach().cpu().numpy().astype(np.float32).reshape(1, -1, 1)
        inits.append(numpy_helper.from_array(weight, "tail_residual_weight"))
        nodes += [
            helper.make_node("Mul", [HEAD_NAME, "tail_residual_weight"], ["tail_weighted"]),
            helper.make_node("Add", ["tail_weighted", BASE_NAME], ["tail_logits"]),
        ]
        logits = "tail_logits"
    nodes += [
        helper.make_node("Div", [logits, "tail_temperature"], ["tail_scaled"]),
        helper.make_node("Softmax", ["tail_scaled"], [PROBS_NAME], axis=-1),
    ]
    return nodes, inits


def compose_fitted(
    model: AshModel, fragment: onnx.ModelProto, example: torch.Tensor, opset: int
) -> onnx.ModelProto:
    """The contract graph of a model with a fitted family (frame ▶ ``fragment`` ▶ tail);
    ``fragment`` is the family's ``to_onnx``."""
    family = model.family
    if family is None:
        raise ValueError("compose_fitted needs a model with a fitted family")
    names = [X_NAME, EDGES_NAME] + ([BASE_NAME] if model.prior is not None else [])
    frame = simplify(
        onnx.load_model_from_string(
            export_onnx(
                _Frame(model).eval(),
                (example,),
                input_names=[INPUT_NAME],
                output_names=names,
                opset=opset,
                batch_axis=BATCH_DIM_NAME,
            )
        )
    )
    inputs = [i.name for i in fragment.graph.input]
    outputs = [o.name for o in fragment.graph.output]
    if inputs != [X_NAME] or outputs != [HEAD_NAME]:
        raise FrameError(
            f"family {family.name!r}: to_onnx must give a graph with input ['x'] and output "
            f"['head'], got inputs {inputs} and outputs {outputs}"
        )
    taken = {t.name for t in frame.graph.initializer} | {
        o for n in frame.graph.node for o in n.output
    }
    clash = taken & (
        {t.name for t in fragment.graph.initializer}
        | {o for n in fragment.graph.node for o in n.output if o != HEAD_NAME}
    )
    if clash:
        raise FrameError(
            f"family {family.name!r}: its ONNX fragment reuses names of the feature graph "
            f"({', '.join(sorted(clash)[:5])}); prefix its node outputs and initializers"
        )
    tail_nodes, tail_inits = _tail(model)
    graph = helper.make_graph(
        [*frame.graph.node, *fragment.graph.node, *tail_nodes],
        f"ash_{family.name}",
        list(frame.graph.input),
        [
            helper.make_tensor_value_info(PROBS_NAME, onnx.TensorProto.FLOAT, None),
            next(o for o in frame.graph.output if o.name == EDGES_NAME),
        ],
        [*frame.graph.initializer, *fragment.graph.initializer, *tail_inits],
    )
    opsets = {o.domain: o.version for o in frame.opset_import}
    for o in fragment.opset_import:
        if o.domain in opsets and o.domain == "" and o.version != opsets[""]:
            raise FrameError(
                f"family {family.name!r}: its fragment uses opset {o.version}, the feature "
                f"graph {opsets['']}; write the fragment with the opset to_onnx is given"
            )
        opsets.setdefault(o.domain, o.version)
    composed = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(opsets.items())]
    )
    composed.ir_version = frame.ir_version
    return composed
