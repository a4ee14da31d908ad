"""Fewer ``Cast`` nodes for the same values: two exact rewrites of the exported graph.

Feature builders compute in float64 (ash.components.ops): each casts the bar columns it reads up
to float64 and its features back down to the bars' dtype, so a model with five builders carries
ten casts. A cast is elementwise and ``Gather``/``Concat`` only move elements, so casts can move
across them without changing a single value:

- :func:`hoist_casts`: ``Cast(Gather(x, i_1))``, …, ``Cast(Gather(x, i_n))`` (the columns each
  builder reads from the shared cleaned bars) → ``Gather(c, i_k)`` of one ``c = Cast(x)``;
- :func:`sink_casts`: ``Concat(Cast(a_1), …, Cast(a_n))`` (the model joining the builders'
  outputs) → ``Cast(Concat(a_1, …, a_n))``.

At batch 1 each node costs ONNX Runtime a fixed overhead that dominates these tiny tensors.
"""

from __future__ import annotations

from collections import defaultdict

import onnx_ir as ir


def _is(node: ir.Node | None, op_type: str) -> bool:
    return node is not None and node.op_type == op_type and node.domain in ("", "ai.onnx")


def _only_consumer(value: ir.Value) -> ir.Node | None:
    """The node that reads ``value``, when exactly one does and ``value`` is no graph output."""
    uses = list(value.uses())
    if len(uses) != 1 or value.is_graph_output():
        return None
    return uses[0][0]


def hoist_casts(graph: ir.Graph) -> int:
    """Casts of several single-use ``Gather``\\ s of the same tensor → one cast of the tensor,
    gathered from. Returns the number of casts removed."""
    groups: dict[tuple[int, int], list[tuple[ir.Node, ir.Node]]] = defaultdict(list)
    sources: dict[int, ir.Value] = {}
    for node in graph:
        if not _is(node, "Gather") or node.inputs[0] is None:
            continue
        cast = _only_consumer(node.outputs[0])
        if cast is None or not _is(cast, "Cast") or cast.outputs[0].is_graph_output():
            continue
        to = cast.attributes.get_int("to")
        if to is None:
            continue
        key = (id(node.inputs[0]), to)
        sources[id(node.inputs[0])] = node.inputs[0]
        groups[key].append((node, cast))
    removed = 0
    for (source_id, to), pairs in groups.items():
        if len(pairs) < 2:
            continue
        shared = ir.node("Cast", [sources[source_id]], attributes={"to": to}, num_outputs=1)
        graph.insert_before(pairs[0][0], shared)  # graph order: before the first gather
        for gather, cast in pairs:
            attributes = {"axis": gather.attributes.get_int("axis", 0)}
            moved = ir.node("Gather", [shared.outputs[0], gather.inputs[1]], attributes)
            graph.insert_before(cast, moved)
            ir.convenience.replace_all_uses_with(cast.outputs[0], moved.outputs[0])
        removed += len(pairs) - 1
    return removed


def sink_casts(graph: ir.Graph) -> int:
    """``Concat`` of single-use casts to one type from one type → one cast of the ``Concat``.
    Returns the number of casts removed."""
    removed = 0
    for node in list(graph):
        if not _is(node, "Concat") or len(node.inputs) < 2 or node.outputs[0].is_graph_output():
            continue
        casts = [v.producer() if v is not None else None for v in node.inputs]
        if not all(_is(c, "Cast") for c in casts):
            continue
        targets = {c.attributes.get_int("to") for c in casts if c is not None}
        origins = {c.inputs[0].dtype if c.inputs[0] is not None else None for c in casts if c}
        if len(targets) != 1 or len(origins) != 1 or None in targets or None in origins:
            continue
        if any(v is None or _only_consumer(v) is not node for v in node.inputs):
            continue
        sources = [c.inputs[0] for c in casts if c is not None]
        axis = node.attributes.get_int("axis", 0)
        joined = ir.node("Concat", sources, attributes={"axis": axis}, num_outputs=1)
        cast = ir.node("Cast", joined.outputs, attributes={"to": targets.pop()}, num_outputs=1)
        graph.insert_before(node, joined)
        graph.insert_before(node, cast)
        ir.convenience.replace_all_uses_with(node.outputs[0], cast.outputs[0])
        removed += len(casts) - 1
    return removed
