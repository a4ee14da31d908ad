"""Latency first: export an untrained candidate and time it on the serving path.

Latency depends on the architecture, not on the weights, so a candidate is measured before a
single training step. The serving path is the Rust runtime (``ash-serve bench``) when its binary
is built; otherwise Python ONNX Runtime with the same session settings (CPU, ``threads``
intra-op threads). Every result says which runtime measured it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from torch import nn

from ash.config.schema import LatencyBudget
from ash.export.exporter import export_model
from ash.export.latency import measure_latency
from ash.runtime import (
    BIN_ENV,
    ServeError,
    find_serve_binary,
    has_bench,
    measure_rust,
    release_build,
)

Runtime = Literal["rust", "onnxruntime"]


class LatencyMeasurementError(ServeError):
    """The serving-path benchmark cannot measure the candidate as the budget asks."""


@dataclass(frozen=True)
class LatencyResult:
    p50_ms: float
    p99_ms: float
    runtime: Runtime
    batch: int
    threads: int
    iters: int
    export_s: float  # seconds spent exporting the candidate
    measure_s: float  # seconds spent timing it

    def as_attrs(self) -> dict[str, Any]:
        return {f"latency_{k}": v for k, v in asdict(self).items()}


def choose_runtime(measure_on: str, batch: int = 1) -> tuple[Runtime, Path | None]:
    """``rust`` needs a built ``ash-serve`` with ``bench`` (its predict latency is at batch 1);
    ``auto`` uses it when it can and falls back to Python ONNX Runtime otherwise."""
    if measure_on == "onnxruntime":
        return "onnxruntime", None
    binary = find_serve_binary()
    usable = binary is not None and has_bench(binary)
    if usable and batch == 1:
        return "rust", binary
    if measure_on == "rust":
        why = (
            "ash-serve bench measures predict latency at batch 1 only; use batch 1 or "
            "measure_on: onnxruntime"
            if usable
            else "no ash-serve with a `bench` subcommand was found (looked at "
            f"${BIN_ENV}, {release_build()}, PATH); build it with "
            "`cargo build --release` in inference-rs/ or set measure_on: onnxruntime"
        )
        raise LatencyMeasurementError(f"tune.budget.measure_on is 'rust' but {why}")
    return "onnxruntime", None


def measure_onnx(
    onnx_path: Path,
    budget: LatencyBudget,
    *,
    warmup: int,
    iters: int,
    runtime: Runtime | None = None,
    binary: Path | None = None,
) -> LatencyResult:
    """Time an exported model with the runtime ``budget.measure_on`` selects."""
    if runtime is None:
        runtime, binary = choose_runtime(budget.measure_on, budget.batch)
    start = time.perf_counter()
    if runtime == "rust":
        assert binary is not None
        timings = measure_rust(binary, onnx_path, threads=budget.threads, iters=iters)
    else:
        timings = measure_latency(
            onnx_path, batch=budget.batch, threads=budget.threads, warmup=warmup, iters=iters
        )
    return LatencyResult(
        p50_ms=timings["p50_ms"],
        p99_ms=timings["p99_ms"],
        runtime=runtime,
        batch=budget.batch,
        threads=budget.threads,
        iters=iters,
        export_s=0.0,
        measure_s=time.perf_counter() - start,
    )


def measure_candidate(
    model: nn.Module,
    metadata: Mapping[str, Any],
    onnx_path: Path,
    budget: LatencyBudget,
    *,
    warmup: int = 20,
    iters: int = 300,
) -> LatencyResult:
    """Export the (untrained) ``model`` to ``onnx_path`` and time it on the serving path."""
    start = time.perf_counter()
    # The runtime applies its own graph optimisations at load: no offline variant needed here.
    export_model(model, onnx_path, metadata=metadata, optimize=False)
    export_s = time.perf_counter() - start
    result = measure_onnx(onnx_path, budget, warmup=warmup, iters=iters)
    return LatencyResult(**{**asdict(result), "export_s": export_s})
