"""Graph simplification right after tracing: fold what the fixed window makes constant.

The contract fixes every axis but the batch, yet the TorchScript tracer records shape arithmetic
(``x.shape`` → ``Shape``/``Gather``/``Concat`` → ``Reshape``) for sizes that are constants of the
model. Neither the tracer's constant folding nor ONNX Runtime's removes those chains: they read a
``Shape`` of a tensor with a dynamic batch. This pass, run to a fixed point:

1. infers shapes (ONNX shape inference with data propagation; the batch stays symbolic);
2. replaces ``Gather(Shape(x), k)`` and ``Slice(Shape(x), …)`` of static dimensions by constants;
3. rewrites ``Reshape(x, Concat(batch, c1, c2, …))`` whose only non-constant piece is one
   dimension as ``Reshape(x, [-1, c1, c2, …])`` (the same shape for any valid input);
4. moves casts across ``Gather``/``Concat`` so that one does the work of many
   (:mod:`ash.export.casts`);
5. folds constants and removes dead nodes with ``onnxscript``'s optimizer.

Every rewrite is exact (no arithmetic changes), so parity with PyTorch is untouched; what goes
away is per-node overhead, which dominates a small model at batch 1.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnx_ir as ir
import onnxscript.optimizer

from ash.export.casts import hoist_casts, sink_casts

MAX_ROUNDS = 4


def _shape_source(value: ir.Value | None) -> ir.Shape | None:
    """The inferred shape of ``x`` when ``value`` is a plain ``Shape(x)``."""
    node = value.producer() if value is not None else None
    if node is None or node.op_type != "Shape" or node.domain not in ("", "ai.onnx"):
        return None
    if node.attributes.get("start") is not None or node.attributes.get("end") is not None:
        return None
    source = node.inputs[0]
    return source.shape if source is not None else None


def _ints(value: ir.Value | None) -> list[int] | None:
    """The values of a small constant integer vector, also through ``ConstantOfShape`` and
    ``Mul`` of such (which the tracer emits for ``expand``'s −1 handling and the folder keeps)."""
    if value is None:
        return None
    tensor = ir.convenience.get_const_tensor(value)
    if tensor is not None:
        return [int(v) for v in np.asarray(tensor.numpy()).reshape(-1)]
    node = value.producer()
    if node is None or node.domain not in ("", "ai.onnx"):
        return None
    if node.op_type == "ConstantOfShape":
        shape = _ints(node.inputs[0])
        fill = node.attributes.get("value")
        fill_value = 0 if fill is None else int(np.asarray(fill.as_tensor().numpy()).reshape(-1)[0])
        return None if shape is None or len(shape) != 1 else [fill_value] * shape[0]
    if node.op_type == "Mul":
        a, b = _ints(node.inputs[0]), _ints(node.inputs[1])
        if a is None or b is None or (len(a) != len(b) and 1 not in (len(a), len(b))):
            return None
        n = max(len(a), len(b))
        a, b = (a * n if len(a) == 1 else a), (b * n if len(b) == 1 else b)
        return [x * y for x, y in zip(a, b, strict=True)]
    return None


def _replace_with_constant(graph: ir.Graph, node: ir.Node, values: np.ndarray) -> None:
    constant = ir.node("Constant", [], attributes={"value": ir.tensor(values)}, num_outputs=1)
    graph.insert_before(node, constant)
    ir.convenience.replace_all_uses_with(node.outputs[0], constant.outputs[0])


def fold_static_dims(graph: ir.Graph) -> int:
    """``Gather(Shape(x), k)`` / ``Slice(Shape(x), s, e)`` over static dims → constants."""
    changed = 0
    for node in list(graph):
        if node.op_type not in ("Gather", "Slice") or node.domain not in ("", "ai.onnx"):
            continue
        shape = _shape_source(node.inputs[0])
        if shape is None:
            continue
        dims = list(shape)
        if node.op_type == "Gather":
            indices = node.inputs[1]
            index = ir.convenience.get_const_tensor(indices) if indices is not None else None
            if index is None or int(node.attributes.get_int("axis", 0)) != 0:
                continue
            positions = np.asarray(index.numpy())
            picked = [dims[int(k)] for k in positions.reshape(-1)]
            result = np.asarray(picked, dtype=object).reshape(positions.shape)
        else:
            args = [_ints(v) for v in node.inputs[1:]]
            if any(a is None for a in args) or len(args) < 2:
                continue
            starts, ends = args[0], args[1]
            axes = args[2] if len(args) > 2 else [0]
            steps = args[3] if len(args) > 3 else [1]
            assert starts is not None and ends is not None and axes is not None
            if axes not in ([0], [-1]) or steps is None or len(starts) != 1:
                continue
            result = np.asarray(dims[slice(starts[0], ends[0], steps[0])], dtype=object)
        if not all(isinstance(d, int) for d in result.reshape(-1)):
            continue
        _replace_with_constant(graph, node, result.astype(np.int64))
        changed += 1
    return changed


def reshape_with_inferred_batch(graph: ir.Graph) -> int:
    """``Reshape(x, Concat(d, c1, …))`` with one dynamic one-element piece ``d`` and positive
    constants elsewhere → ``Reshape(x, [c…, -1, c…])``: ``-1`` is inferred as exactly ``d``."""
    changed = 0
    for node in list(graph):
        if node.op_type != "Reshape" or node.domain not in ("", "ai.onnx"):
            continue
        concat = node.inputs[1].producer() if node.inputs[1] is not None else None
        if concat is None or concat.op_type != "Concat":
            continue
        target: list[int] = []
        dynamic = 0
        for piece in concat.inputs:
            values = _ints(piece)
            if values is None:
                if piece is None or piece.shape is None or list(piece.shape) != [1]:
                    dynamic = 2  # unknown size: leave this reshape alone
                    break
                target.append(-1)
                dynamic += 1
            elif all(v > 0 for v in values):
                target.extend(values)
            else:
                dynamic = 2  # 0 (copy) or -1 (infer) already present: leave it alone
                break
        if dynamic != 1:
            continue
        constant = ir.node(
            "Constant",
            [],
            attributes={"value": ir.tensor(np.asarray(target, dtype=np.int64))},
            num_outputs=1,
        )
        graph.insert_before(node, constant)
        node.replace_input_with(1, constant.outputs[0])
        changed += 1
    return changed


def _dim_pieces(value: ir.Value | None) -> list[int | None] | None:
    """A 1-D shape vector built as ``Concat`` (optionally through a 1-D ``Reshape``) of
    one-element pieces: constants as ints, dynamic dimensions (``Gather(Shape(·))`` pieces,
    never negative) as ``None``."""
    node = value.producer() if value is not None else None
    if (
        node is not None
        and node.op_type == "Reshape"
        and node.inputs[0] is not None
        and _ints(node.inputs[1]) == [-1]
    ):
        node = node.inputs[0].producer()
    if node is None or node.op_type != "Concat":
        return None
    pieces: list[int | None] = []
    for piece in node.inputs:
        values = _ints(piece)
        if values is not None:
            pieces.extend(values)
            continue
        source = piece.producer() if piece is not None else None
        if source is not None and source.op_type == "Unsqueeze" and source.inputs[0] is not None:
            source = source.inputs[0].producer()
        if source is None or source.op_type != "Gather" or _shape_source(source.inputs[0]) is None:
            return None
        if _ints(source.inputs[1]) is None or len(_ints(source.inputs[1]) or []) != 1:
            return None
        pieces.append(None)
    return pieces


def fold_expand_minus_one(graph: ir.Graph) -> int:
    """TorchScript exports ``x.expand(b, -1, -1)`` as ``Where(Equal(s, -1), 1, s)`` over the
    target shape ``s``: a dimension is never −1, so with every constant piece known the
    ``Where`` is decided at export. It becomes a ``Concat`` of the same pieces with the −1s
    replaced (three nodes fewer per expand)."""
    changed = 0
    for node in list(graph):
        if node.op_type != "Where" or node.domain not in ("", "ai.onnx"):
            continue
        equal = node.inputs[0].producer() if node.inputs[0] is not None else None
        if equal is None or equal.op_type != "Equal" or equal.inputs[1] is None:
            continue
        target = _ints(equal.inputs[1])
        pieces = _dim_pieces(equal.inputs[0])
        if target is None or pieces is None or _dim_pieces(node.inputs[2]) != pieces:
            continue
        if len(target) == 1:
            target = target * len(pieces)
        replacement = _ints(node.inputs[1])
        if replacement is not None and len(replacement) == 1:
            replacement = replacement * len(pieces)
        if replacement is None or len(target) != len(pieces) or len(replacement) != len(pieces):
            continue
        if any(p is None and t >= 0 for p, t in zip(pieces, target, strict=True)):
            continue  # a dynamic dimension could equal a non-negative target
        concat_source = node.inputs[2]
        cat = concat_source.producer() if concat_source is not None else None
        if cat is not None and cat.op_type == "Reshape" and cat.inputs[0] is not None:
            cat = cat.inputs[0].producer()
        assert cat is not None
        inputs: list[ir.Value] = []
        dynamic = iter([v for v in cat.inputs if _ints(v) is None])
        for piece, t, r in zip(pieces, target, replacement, strict=True):
            if piece is None:
                value = next(dynamic)
                assert value is not None
                inputs.append(value)
            else:
                chosen = r if piece == t else piece
                constant = ir.node(
                    "Constant",
                    [],
                    attributes={"value": ir.tensor(np.asarray([chosen], dtype=np.int64))},
                    num_outputs=1,
                )
                graph.insert_before(node, constant)
                inputs.append(constant.outputs[0])
        joined = ir.node("Concat", inputs, attributes={"axis": 0}, num_outputs=1)
        graph.insert_before(node, joined)
        ir.convenience.replace_all_uses_with(node.outputs[0], joined.outputs[0])
        changed += 1
    return changed


def fold_constant_of_shape(graph: ir.Graph, limit: int = 1024) -> int:
    """``ConstantOfShape`` of a constant shape (the tracer's padding and expand arithmetic)
    → a constant, which the folder then propagates (it leaves this op alone on purpose, to
    never materialise large tensors; these are a few elements)."""
    changed = 0
    for node in list(graph):
        if node.op_type != "ConstantOfShape" or node.domain not in ("", "ai.onnx"):
            continue
        shape = _ints(node.inputs[0])
        if shape is None or int(np.prod(shape)) > limit:
            continue
        fill = node.attributes.get("value")
        value = np.zeros(1, np.float32) if fill is None else fill.as_tensor().numpy().reshape(-1)
        _replace_with_constant(graph, node, np.full(shape, value[0], dtype=value.dtype))
        changed += 1
    return changed


def cancel_transposes(graph: ir.Graph) -> int:
    """``Transpose(Transpose(x))`` whose permutations compose to the identity → ``x`` (a
    builder returns bar-major features that the model turns back to time-last)."""
    changed = 0
    for node in list(graph):
        if node.op_type != "Transpose" or node.inputs[0] is None:
            continue
        inner = node.inputs[0].producer()
        if inner is None or inner.op_type != "Transpose" or inner.inputs[0] is None:
            continue
        outer_perm = node.attributes.get_ints("perm", None)
        inner_perm = inner.attributes.get_ints("perm", None)
        if outer_perm is None or inner_perm is None or len(outer_perm) != len(inner_perm):
            continue
        if [inner_perm[p] for p in outer_perm] != list(range(len(outer_perm))):
            continue
        ir.convenience.replace_all_uses_with(node.outputs[0], inner.inputs[0])
        changed += 1
    return changed


def _front_pad(node: ir.Node | None, rank: int) -> tuple[int, int] | None:
    """``(axis, amount)`` when ``node`` is a zero-constant ``Pad`` of one axis' front only."""
    if (
        node is None
        or node.op_type != "Pad"
        or node.attributes.get_string("mode", "constant") != "constant"
    ):
        return None
    pads = _ints(node.inputs[1])
    if pads is None or len(pads) != 2 * rank or any(pads[rank:]):
        return None
    if len(node.inputs) > 2 and node.inputs[2] is not None:
        fill = ir.convenience.get_const_tensor(node.inputs[2])
        if fill is None or np.any(fill.numpy() != 0):
            return None
    if len(node.inputs) > 3 and node.inputs[3] is not None:
        return None  # explicit axes: leave it
    padded = [(axis, amount) for axis, amount in enumerate(pads[:rank]) if amount]
    return padded[0] if len(padded) == 1 else None


def slice_off_padding(graph: ir.Graph) -> int:
    """``Slice(Concat(Pad(x_1), …, Pad(x_n)), s:)`` on the padded axis, where each ``Pad`` adds
    exactly ``s`` zeros in front → ``Concat(x_1, …, x_n)``: feature builders pad their warm-up
    positions, and the model slices those very positions off again."""
    changed = 0
    for node in list(graph):
        if node.op_type != "Slice" or node.inputs[0] is None:
            continue
        concat = node.inputs[0].producer()
        shape = node.inputs[0].shape
        if concat is None or concat.op_type != "Concat" or shape is None:
            continue
        rank = len(shape)
        args = [_ints(v) for v in node.inputs[1:]]
        if len(args) < 3 or any(a is None for a in args) or len(args[0] or []) != 1:
            continue
        starts, ends, axes = args[0], args[1], args[2]
        steps = args[3] if len(args) > 3 else [1]
        assert starts is not None and ends is not None and axes is not None
        axis = axes[0] % rank
        dim = shape[axis]
        if steps != [1] or not isinstance(dim, int) or ends[0] < dim:
            continue
        start = starts[0] if starts[0] >= 0 else dim + starts[0]
        pads = [_front_pad(v.producer() if v is not None else None, rank) for v in concat.inputs]
        if any(p != (axis, start) for p in pads):
            continue
        sources = [v.producer().inputs[0] for v in concat.inputs if v is not None]  # type: ignore[union-attr]
        joined = ir.node(
            "Concat",
            sources,
            attributes={"axis": concat.attributes.get_int("axis", 0)},
            num_outputs=1,
        )
        graph.insert_before(node, joined)
        ir.convenience.replace_all_uses_with(node.outputs[0], joined.outputs[0])
        changed += 1
    return changed


def merge_slices(graph: ir.Graph) -> int:
    """``Slice(Slice(x))`` over disjoint axes with constant arguments → one ``Slice`` (the
    tracer emits one per indexed dimension, e.g. ``x[:, -1:, :1]``)."""
    changed = 0
    for node in list(graph):
        if node.op_type != "Slice" or node.inputs[0] is None:
            continue
        inner = node.inputs[0].producer()
        if inner is None or inner.op_type != "Slice" or len(inner.outputs[0].uses()) != 1:
            continue
        outer_args = [_ints(v) for v in node.inputs[1:]]
        inner_args = [_ints(v) for v in inner.inputs[1:]]
        if len(outer_args) < 3 or len(inner_args) < 3:
            continue  # axes must be explicit to merge
        if any(a is None for a in outer_args + inner_args):
            continue
        if len(outer_args) == 3:
            outer_args.append([1] * len(outer_args[0] or []))
        if len(inner_args) == 3:
            inner_args.append([1] * len(inner_args[0] or []))
        if set(outer_args[2] or []) & set(inner_args[2] or []):
            continue
        merged = [(inner_args[i] or []) + (outer_args[i] or []) for i in range(4)]
        constants = []
        for values in merged:
            constant = ir.node(
                "Constant",
                [],
                attributes={"value": ir.tensor(np.asarray(values, dtype=np.int64))},
                num_outputs=1,
            )
            graph.insert_before(node, constant)
            constants.append(constant.outputs[0])
        source = inner.inputs[0]
        assert source is not None
        joined = ir.node("Slice", [source, *constants], num_outputs=1)
        graph.insert_before(node, joined)
        ir.convenience.replace_all_uses_with(node.outputs[0], joined.outputs[0])
        changed += 1
    return changed


def simplify(proto: onnx.ModelProto) -> onnx.ModelProto:
    """The simplified graph (a new proto; metadata and I/O names kept)."""
    for _ in range(MAX_ROUNDS):
        inferred = onnx.shape_inference.infer_shapes(proto, data_prop=True)
        model = ir.serde.deserialize_model(inferred)
        onnxscript.optimizer.optimize(model)  # fold first: the rules match constants
        graph = model.graph
        changed = fold_static_dims(graph) + reshape_with_inferred_batch(graph)
        changed += fold_expand_minus_one(graph) + merge_slices(graph)
        changed += fold_constant_of_shape(graph) + cancel_transposes(graph)
        changed += slice_off_padding(graph) + hoist_casts(graph) + sink_casts(graph)
        onnxscript.optimizer.optimize(model)
        proto = ir.serde.serialize_model(model)
        if not changed:
            break
    # Intermediate shapes were only needed to decide the rewrites; the file stays lean.
    del proto.graph.value_info[:]
    return proto


def node_count(proto: onnx.ModelProto) -> int:
    """Nodes in the main graph (``Constant`` nodes included: they are nodes to a runtime too)."""
    return len(proto.graph.node)
