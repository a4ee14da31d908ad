"""The Rust runtime (``ash-serve``) from Python: find the binary, build its command, time it.

One place for everything Python does with the runtime: ``ash serve`` launches it, the main job's
replay feeds it ticks, tuning's latency probe runs ``ash-serve bench``. The binary is
``$ASH_SERVE_BIN`` when set, else the checkout's release build (``scripts/setup.sh`` builds
``inference-rs/target/release/ash-serve``), else ``ash-serve`` on PATH. It loads the ONNX Runtime
library of the installed Python package (:mod:`ash.runtime_lib`), so Python and Rust run the very
same ``libonnxruntime``. Protocol and options: docs/runtime.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ash.paths import repo_root
from ash.runtime_lib import RuntimeLibraryNotFoundError, onnxruntime_library

BIN_ENV = "ASH_SERVE_BIN"
VARIANTS: dict[str, str] = {
    "onnx": "model.onnx",
    "ort": "model.ort.onnx",
    "fp16": "model.fp16.onnx",
}


class ServeError(RuntimeError):
    """The model, the binary or the ONNX Runtime library cannot be found, or the runtime failed."""


def release_build() -> Path:
    """Where ``scripts/setup.sh`` puts the binary in this checkout."""
    return repo_root() / "inference-rs" / "target" / "release" / "ash-serve"


def find_serve_binary() -> Path | None:
    """``$ASH_SERVE_BIN`` (an error if it is not a file), the release build, PATH, or None."""
    explicit = os.environ.get(BIN_ENV)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ServeError(f"{BIN_ENV}={explicit} is not a file")
        return path
    built = release_build()
    if built.is_file():
        return built
    found = shutil.which("ash-serve")
    return Path(found) if found else None


def serve_binary() -> Path:
    """The ``ash-serve`` binary, or a :class:`ServeError` that says how to build it."""
    found = find_serve_binary()
    if found is None:
        raise ServeError(
            f"the Rust runtime is not built ({release_build()} is missing); run scripts/setup.sh "
            f"(it runs cargo build --release in inference-rs/) or set {BIN_ENV}"
        )
    return found


def runtime_env() -> dict[str, str]:
    """This process's environment plus ``ORT_DYLIB_PATH`` (kept when already set)."""
    env = dict(os.environ)
    if "ORT_DYLIB_PATH" not in env:
        env["ORT_DYLIB_PATH"] = str(_library())
    return env


def _library() -> Path:
    try:
        return onnxruntime_library()
    except RuntimeLibraryNotFoundError as exc:
        raise ServeError(str(exc)) from exc


def resolve_model(run_or_model: Path, variant: str = "onnx") -> Path:
    """A model file, or ``RUN/model.onnx`` (``model.ort.onnx``/``model.fp16.onnx`` by variant)."""
    if variant not in VARIANTS:
        raise ServeError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    if run_or_model.is_dir():
        model = run_or_model / VARIANTS[variant]
        if not model.is_file():
            raise ServeError(
                f"{run_or_model} has no {VARIANTS[variant]}; export the run first: "
                f"ash export {run_or_model}"
            )
        return model
    if run_or_model.is_file():
        return run_or_model
    raise ServeError(f"{run_or_model} is neither a run folder nor a model file")


def _cuda_library_dirs() -> list[str]:
    """The nvidia-* wheels' lib folders (cuBLAS, cuDNN, ...) that the CUDA provider needs."""
    dirs: list[str] = []
    for entry in sys.path:
        nvidia = Path(entry) / "nvidia"
        if nvidia.is_dir():
            dirs += sorted(str(lib) for lib in nvidia.glob("*/lib") if lib.is_dir())
    return dirs


def build_command(
    model: Path,
    *,
    listen: str = "127.0.0.1:7878",
    stdin: bool = False,
    symbols: list[str] | None = None,
    session: str | None = None,
    threads: int = 1,
    cuda: bool = False,
    device_id: int = 0,
    emit: str = "bar",
    log_every: float = 10.0,
    port_file: Path | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The ``ash-serve serve`` argv and environment for serving ``model``."""
    lib = _library()
    argv = [str(serve_binary()), "serve", str(model), "--threads", str(threads)]
    argv += ["--emit", emit, "--log-every", str(log_every)]
    argv += ["--stdin"] if stdin else ["--listen", listen]
    if symbols:
        argv += ["--symbols", ",".join(symbols)]
    if session:
        argv += ["--session", session]
    if port_file is not None:
        argv += ["--port-file", str(port_file)]
    env = dict(os.environ)
    env["ORT_DYLIB_PATH"] = str(lib)
    if cuda:
        argv += ["--cuda", str(device_id)]
        extra = [str(lib.parent), *_cuda_library_dirs()]
        env["LD_LIBRARY_PATH"] = os.pathsep.join([*extra, env.get("LD_LIBRARY_PATH", "")]).strip(
            os.pathsep
        )
    return argv, env


# ---------------------------------------------------------------- latency probe (ash-serve bench)


def has_bench(binary: Path) -> bool:
    """Whether this build of ``ash-serve`` lists a ``bench`` subcommand in its usage."""
    try:
        probe = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=30)
    except OSError:
        return False
    return probe.returncode == 0 and "ash-serve bench" in probe.stdout


def bench_rows(text: str) -> dict[str, dict[str, str]]:
    """The rows of ``ash-serve bench``'s latency table (the one with a ``predict p99`` column) by
    model label, each row's cells by column name; the first row of a label is kept."""
    lines = [line.strip() for line in text.splitlines()]
    start = next(
        (i for i, line in enumerate(lines) if line.startswith("|") and "predict p99" in line), None
    )
    if start is None:
        raise ServeError(f"ash-serve bench printed no predict p99 column:\n{text}")
    names = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows: dict[str, dict[str, str]] = {}
    for line in lines[start + 1 :]:
        if not line.startswith("|"):
            break  # the end of the table
        if set(line) <= set("|-: "):
            continue  # the separator row
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows.setdefault(cells[0], dict(zip(names, cells, strict=False)))
    return rows


def parse_bench_table(text: str) -> dict[str, float]:
    """p50/p99 (ms) of ``predict`` from the Markdown table ``ash-serve bench`` prints (µs)."""
    rows = bench_rows(text)
    if not rows:
        raise ServeError(f"ash-serve bench printed no result row:\n{text}")
    cells = next(iter(rows.values()))
    try:
        return {
            "p50_ms": float(cells["predict p50 µs"]) / 1000.0,
            "p99_ms": float(cells["predict p99 µs"]) / 1000.0,
        }
    except (KeyError, ValueError) as exc:
        raise ServeError(
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
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=runtime_env())
    if done.returncode != 0:
        raise ServeError(
            f"`{' '.join(cmd)}` failed with exit code {done.returncode}:\n{done.stderr.strip()}"
        )
    return parse_bench_table(done.stdout)
