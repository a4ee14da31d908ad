"""Torch → ONNX and ONNX Runtime sessions: the one export call and the one session factory.

Every ONNX graph ash writes (the contract exporter, the conformance kit, the export diagnosis,
benchmarks, test fixtures) goes through :func:`export_onnx`: the TorchScript exporter (stable
graphs, fast; the dynamo exporter needs more time per model for no gain on these graphs) with a
named, dynamic batch axis. Every ONNX Runtime session ash opens (validator, parity, latency,
replay, offline optimisation) comes from :func:`cpu_session`.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import onnxruntime as ort

if TYPE_CHECKING:
    from torch import nn

CPU = "CPUExecutionProvider"
OPSET = 17
BATCH_AXIS = "batch"


def export_onnx(
    module: nn.Module,
    args: tuple[Any, ...],
    *,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    opset: int = OPSET,
    batch_axis: str | None = BATCH_AXIS,
    constant_folding: bool = True,
) -> bytes:
    """The serialized ONNX graph of ``module(*args)``.

    ``batch_axis`` names axis 0 of every named input and output as dynamic (None: every axis
    fixed at the traced sizes). Exporter warnings (deprecations, tracer notes) are silenced; its
    errors propagate for the caller to explain.
    """
    import torch  # here, not at the top: sessions (the torch-free predictor) must not need it

    buffer = io.BytesIO()
    names = [*(input_names or ()), *(output_names or ())]
    axes = {name: {0: batch_axis} for name in names} if batch_axis and names else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            args,
            buffer,  # type: ignore[arg-type]
            input_names=list(input_names) if input_names else None,
            output_names=list(output_names) if output_names else None,
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=constant_folding,
            dynamo=False,
        )
    return buffer.getvalue()


def cpu_session(
    model: str | Path | bytes,
    *,
    threads: int = 1,
    optimization: ort.GraphOptimizationLevel = ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    optimized_model_path: Path | None = None,
) -> ort.InferenceSession:
    """A CPU session with ``threads`` intra-op threads, one inter-op thread, sequential.

    ``optimized_model_path``: also write the graph after ``optimization`` to that file
    (ONNX Runtime's offline optimisation).
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = optimization
    options.log_severity_level = 3  # errors only: warnings would drown the validator's report
    if optimized_model_path is not None:
        options.optimized_model_filepath = str(optimized_model_path)
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, sess_options=options, providers=[CPU])
