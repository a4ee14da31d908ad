"""Latency first: export an untrained candidate and time it on the serving path.

Latency depends on the architecture, not on the weights, so a candidate is measured before a
single training step. The serving path is the Rust runtime (``ash-serve bench``) when its binary
is built; otherwise Python ONNX Runtime with the same session settings (CPU, ``threads``
intra-op threads). Every result says which runtime measured it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from torch import nn

from ash.config.schema import LatencyBudget

Runtime = Literal["rust", "onnxruntime"]

RUST_BINARY_ENV = "ASH_SERVE"
# inference-rs/target/release/ash-serve relative to the repository root (src/ash/tune/ -> 3 up).
_REPO_ROOT = Path(__file__).resolve().parents[3]
RUST_BINARY_DEFAULT = _REPO_ROOT / "inference-rs" / "target" / "release" / "ash-serve"


class LatencyMeasurementError(RuntimeError):
    """The serving-path benchmark could not measure the candidate."""


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


def rust_binary() -> Path | None:
    """The ``ash-serve`` binary: $ASH_SERVE, else the repository's release build, else PATH."""
    configured = os.environ.get(RUST_BINARY_ENV)
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise LatencyMeasurementError(f"${RUST_BINARY_ENV}={configured} is not a file")
        return path
    if RUST_BINARY_DEFAULT.is_file():
        return RUST_BINARY_DEFAULT
    found = shutil.which("ash-serve")
    return Path(found) if found else None


def _has_bench(binary: Path) -> bool:
    try:
        probe = subprocess.run(
            [str(binary), "bench", "--help"], capture_output=True, text=True, timeout=30
        )
    except OSError:
        return False
    return probe.returncode == 0


def choose_runtime(measure_on: str) -> tuple[Runtime, Path | None]:
    """``rust`` needs a built ``ash-serve`` with ``bench``; ``auto`` falls back to ONNX Runtime."""
    if measure_on == "onnxruntime":
        return "onnxruntime", None
    binary = rust_binary()
    if binary is not None and _has_bench(binary):
        return "rust", binary
    if measure_on == "rust":
        raise LatencyMeasurementError(
            "tune.budget.measure_on is 'rust' but no ash-serve with a `bench` subcommand was "
            f"found (looked at ${RUST_BINARY_ENV}, {RUST_BINARY_DEFAULT}, PATH); build it with "
            "`cargo build --release` in inference-rs/ or set measure_on: onnxruntime"
        )
    return "onnxruntime", None


def _parse_bench_output(text: str) -> dict[str, float]:
    """The last JSON object ``ash-serve bench --json`` printed (it may log lines before it)."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            data = json.loads(line)
            if "p99_ms" in data and "p50_ms" in data:
                return {k: float(v) for k, v in data.items() if isinstance(v, int | float)}
    raise LatencyMeasurementError(f"ash-serve bench printed no JSON with p50_ms/p99_ms:\n{text}")


def measure_rust(
    binary: Path, onnx_path: Path, *, batch: int, threads: int, warmup: int, iters: int
) -> dict[str, float]:
    cmd = [
        str(binary),
        "bench",
        str(onnx_path),
        "--batch",
        str(batch),
        "--threads",
        str(threads),
        "--warmup",
        str(warmup),
        "--iters",
        str(iters),
        "--json",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise LatencyMeasurementError(
            f"`{' '.join(cmd)}` failed with exit code {done.returncode}:\n{done.stderr.strip()}"
        )
    return _parse_bench_output(done.stdout)


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
        runtime, binary = choose_runtime(budget.measure_on)
    start = time.perf_counter()
    if runtime == "rust":
        assert binary is not None
        timings = measure_rust(
            binary,
            onnx_path,
            batch=budget.batch,
            threads=budget.threads,
            warmup=warmup,
            iters=iters,
        )
    else:
        from ash.export.latency import measure_latency

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
    from ash.export.exporter import export_model

    start = time.perf_counter()
    # The runtime applies its own graph optimisations at load: no offline variant needed here.
    export_model(model, onnx_path, metadata=metadata, optimize=False)
    export_s = time.perf_counter() - start
    result = measure_onnx(onnx_path, budget, warmup=warmup, iters=iters)
    return LatencyResult(**{**asdict(result), "export_s": export_s})
