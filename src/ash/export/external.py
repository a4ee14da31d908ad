"""Tensors whose data lives outside the model file (ONNX "external data").

The contract is one self-contained file: a model with external data would load or not depending
on the folder it is read from (Python reads the bytes, Rust the path), so both validators refuse
it with the same code. The walk mirrors ``inference-rs/src/contract/external.rs``: initializers,
sparse initializers and tensor attributes of every node, including nodes of subgraphs (If/Loop
bodies), iteratively so a deeply nested graph cannot exhaust the stack.
"""

from __future__ import annotations

import onnx


def _uses_external_data(tensor: onnx.TensorProto) -> bool:
    return bool(tensor.data_location == onnx.TensorProto.EXTERNAL)


def external_tensors(model: onnx.ModelProto) -> list[str]:
    """Names of the tensors of ``model`` stored as external data, in walk order."""
    found: list[str] = []
    graphs: list[onnx.GraphProto] = [model.graph]
    while graphs:
        graph = graphs.pop()
        tensors: list[onnx.TensorProto] = list(graph.initializer)
        for sparse in graph.sparse_initializer:
            tensors += [sparse.values, sparse.indices]
        for node in graph.node:
            for attribute in node.attribute:
                tensors += [attribute.t, *attribute.tensors]
                for sparse in (attribute.sparse_tensor, *attribute.sparse_tensors):
                    tensors += [sparse.values, sparse.indices]
                graphs += [attribute.g, *attribute.graphs]
        found += [t.name or "<unnamed>" for t in tensors if _uses_external_data(t)]
    return found
