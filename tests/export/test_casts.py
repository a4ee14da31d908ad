"""Cast motion in the export simplification (ash.export.casts): fewer casts, identical values."""

from __future__ import annotations

import numpy as np
import onnx
import onnx.helper as oh
from onnx import TensorProto

from ash.export.simplify import simplify
from ash.onnx_io import cpu_session

DOUBLE, FLOAT = TensorProto.DOUBLE, TensorProto.FLOAT


def _graph(extra_use: bool) -> onnx.ModelProto:
    """Two builders: each gathers columns of the shared bars, casts up, computes, casts down;
    the model joins their outputs. ``extra_use``: the first gather is read a second time."""
    nodes = [
        oh.make_node("Gather", ["x", "i0"], ["g0"], axis=1),
        oh.make_node("Cast", ["g0"], ["c0"], to=DOUBLE),
        oh.make_node("Log", ["c0"], ["l0"]),
        oh.make_node("Cast", ["l0"], ["f0"], to=FLOAT),
        oh.make_node("Gather", ["x", "i1"], ["g1"], axis=1),
        oh.make_node("Cast", ["g1"], ["c1"], to=DOUBLE),
        oh.make_node("Sqrt", ["c1"], ["l1"]),
        oh.make_node("Cast", ["l1"], ["f1"], to=FLOAT),
        oh.make_node("Concat", ["f0", "f1"], ["joined"], axis=1),
        oh.make_node("Transpose", ["joined"], ["y"], perm=[0, 2, 1]),
    ]
    outputs = [oh.make_tensor_value_info("y", FLOAT, ["b", 5, 3])]
    if extra_use:
        nodes.append(oh.make_node("Neg", ["g0"], ["n0"]))
        outputs.append(oh.make_tensor_value_info("n0", FLOAT, ["b", 1, 5]))
    graph = oh.make_graph(
        nodes,
        "builders",
        [oh.make_tensor_value_info("x", FLOAT, ["b", 4, 5])],
        outputs,
        initializer=[
            oh.make_tensor("i0", TensorProto.INT64, [1], [2]),
            oh.make_tensor("i1", TensorProto.INT64, [2], [0, 3]),
        ],
    )
    return oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)], ir_version=8)


def _casts(proto: onnx.ModelProto) -> int:
    return sum(n.op_type == "Cast" for n in proto.graph.node)


def _run(proto: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    return list(cpu_session(proto.SerializeToString(), threads=1).run(None, {"x": x}))


def _bars() -> np.ndarray:
    x = np.random.default_rng(0).uniform(0.5, 2.0, (3, 4, 5)).astype(np.float32)
    x[0, 2, 1] = np.nan  # values pass through unchanged, NaN included
    return x


def test_casts_move_to_one_up_and_one_down_with_identical_values() -> None:
    before = _graph(extra_use=False)
    after = simplify(before)
    assert (_casts(before), _casts(after)) == (4, 2)
    for a, b in zip(_run(before, _bars()), _run(after, _bars()), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_gather_read_elsewhere_keeps_its_own_cast() -> None:
    before = _graph(extra_use=True)
    after = simplify(before)
    assert _casts(after) == 3  # only the down-casts join: the first gather is read twice
    for a, b in zip(_run(before, _bars()), _run(after, _bars()), strict=True):
        np.testing.assert_array_equal(a, b)
