"""Latency first: export an untrained candidate and time it on the serving path.

Latency depends on the architecture, not on the weights, so a candidate is measured before a
single training step. The serving path is the Rust runtime (``ash-serve bench``) when its binary
is built; otherwise Python ONNX Runtime with the same session settings (CPU, ``threads``
intra-op threads). Every result says which runtime measured it.
"""

from __future__ import annotations

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
    """Whether this build of ``ash-serve`` lists a ``bench`` subcommand in its usage."""
    try:
        probe = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=30)
    except OSError:
        return False
    return probe.returncode == 0 and "ash-serve bench" in probe.stdout


def choose_runtime(measure_on: str, batch: int = 1) -> tuple[Runtime, Path | None]:
    """``rust`` needs a built ``ash-serve`` with ``bench`` (its predict latency is at batch 1);
    ``auto`` uses it when it can and falls back to Python ONNX Runtime otherwise."""
    if measure_on == "onnxruntime":
        return "onnxruntime", None
    binary = rust_binary()
    usable = binary is not None and _has_bench(binary)
    if usable and batch == 1:
        return "rust", binary
    if measure_on == "rust":
        why = (
            "ash-serve bench measures predict latency at batch 1 only; use batch 1 or "
            "measure_on: onnxruntime"
            if usable
            else "no ash-serve with a `bench` subcommand was found (looked at "
            f"${RUST_BINARY_ENV}, {RUST_BINARY_DEFAULT}, PATH); build it with "
            "`cargo build --release` in inference-rs/ or set measure_on: onnxruntime"
        )
        raise LatencyMeasurementError(f"tune.budget.measure_on is 'rust' but {why}")
    return "onnxruntime", None


def parse_bench_table(text: str) -> dict[str, float]:
    """p50/p99 (ms) of ``predict`` from the Markdown table ``ash-serve bench`` prints (µs)."""
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("|")]
    header = next((line for line in lines if "predict p99" in line), None)
    if header is None:
        raise LatencyMeasurementError(f"ash-serve bench printed no predict p99 column:\n{text}")
    names = [cell.strip() for cell in header.strip("|").split("|")]
    rows = [line for line in lines[lines.index(header) + 1 :] if not set(line) <= set("|-: ")]
    if not rows:
        raise LatencyMeasurementError(f"ash-serve bench printed no result row:\n{text}")
    cells = dict(zip(names, (c.strip() for c in rows[0].strip("|").split("|")), strict=False))
    try:
        return {
            "p50_ms": float(cells["predict p50 µs"]) / 1000.0,
            "p99_ms": float(cells["predict p99 µs"]) / 1000.0,
        }
    except (KeyError, ValueError) as exc:
        raise LatencyMeasurementError(
            f"cannot read predict p50/p99 from ash-serve bench output ({exc}):\n{text}"
        ) from None


def measure_rust(binary: Path, onnx_path: Path, *, threads: int, iters: int) -> dict[str, float]:
    """``ash-serve bench``: the runtime's own ``predict`` (bars window -> probs), batch 1."""
    cmd = [
        str(binary),
        "bench",
        str(onnx_path),
        "--iters",
        str(iters),
        "--ticks",
        "2",  # the per-tick update benchmark is not what tuning needs
        "--batches",
        "1",
        "--threads",
        str(threads),
    ]
    env = dict(os.environ)
    if "ORT_DYLIB_PATH" not in env:
        from ash.runtime_lib import onnxruntime_library

        env["ORT_DYLIB_PATH"] = str(onnxruntime_library())
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    if done.returncode != 0:
        raise LatencyMeasurementError(
            f"`{' '.join(cmd)}` failed with exit code {done.returncode}:\n{done.stderr.strip()}"
        )
    return parse_bench_table(done.stdout)


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
