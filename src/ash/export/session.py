"""ONNX Runtime sessions as the contract, the validator and the latency probe use them."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

CPU = "CPUExecutionProvider"


def cpu_session(
    model: str | Path | bytes,
    *,
    threads: int = 1,
    optimization: ort.GraphOptimizationLevel = ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
) -> ort.InferenceSession:
    """A CPU session with ``threads`` intra-op threads, one inter-op thread, sequential."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = optimization
    options.log_severity_level = 3  # errors only: warnings would drown the validator's report
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, sess_options=options, providers=[CPU])
