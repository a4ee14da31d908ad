"""Single-thread ONNX Runtime latency of an exported model (used by docs tables and tuning)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import numpy as np
import onnxruntime as ort

from ash.export.contract import INPUT_NAME, KEY_BAR_COLUMNS, KEY_BAR_SECONDS, KEY_WINDOW
from ash.export.metadata import check_metadata
from ash.export.synthetic import synthetic_bars
from ash.onnx_io import cpu_session

Optimization = Literal["disabled", "basic", "extended", "all"]
LEVELS: dict[Optimization, ort.GraphOptimizationLevel] = {
    "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def bars_for(session: ort.InferenceSession, batch: int, seed: int = 0) -> np.ndarray:
    """Realistic input bars for the model behind ``session`` (from its contract metadata)."""
    meta, violations = check_metadata(session.get_modelmeta().custom_metadata_map)
    if violations:
        raise ValueError(f"cannot build inputs: {violations[0]}")
    return synthetic_bars(
        meta[KEY_BAR_COLUMNS], meta[KEY_WINDOW], batch, bar_seconds=meta[KEY_BAR_SECONDS], seed=seed
    )


def measure_latency(
    onnx_path: str | Path,
    *,
    batch: int = 1,
    threads: int = 1,
    warmup: int = 50,
    iters: int = 500,
    optimization: Optimization = "all",
) -> dict[str, float]:
    """p50/p99/mean/min milliseconds of ``session.run`` on one fixed input batch.

    Session: CPU, ``threads`` intra-op threads, 1 inter-op thread, sequential execution, graph
    optimisation ``optimization`` (ONNX Runtime's default is "all").
    """
    if warmup < 0 or iters < 1:
        raise ValueError(f"need warmup >= 0 and iters >= 1, got {warmup} and {iters}")
    session = cpu_session(onnx_path, threads=threads, optimization=LEVELS[optimization])
    feed = {INPUT_NAME: bars_for(session, batch)}
    for _ in range(warmup):
        session.run(None, feed)
    times = np.empty(iters)
    for i in range(iters):
        start = time.perf_counter_ns()
        session.run(None, feed)
        times[i] = (time.perf_counter_ns() - start) / 1e6
    return {
        "p50_ms": float(np.percentile(times, 50)),
        "p99_ms": float(np.percentile(times, 99)),
        "mean_ms": float(times.mean()),
        "min_ms": float(times.min()),
        "batch": float(batch),
        "threads": float(threads),
        "iters": float(iters),
    }
