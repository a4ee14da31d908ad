"""``ash serve RUN``: launch the Rust runtime (``ash-serve``) on a run's model.

The binary is built by scripts/setup.sh (``inference-rs/target/release/ash-serve``; override with
``ASH_SERVE_BIN``). It loads the ONNX Runtime library of the installed Python package
(:mod:`ash.runtime_lib`), so Python and Rust run the very same ``libonnxruntime``. Protocol and
options: docs/runtime.md.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from ash.runtime_lib import RuntimeLibraryNotFoundError, onnxruntime_library

BIN_ENV = "ASH_SERVE_BIN"
VARIANTS: dict[str, str] = {
    "onnx": "model.onnx",
    "ort": "model.ort.onnx",
    "fp16": "model.fp16.onnx",
}


class ServeError(RuntimeError):
    """The model, the binary or the ONNX Runtime library cannot be found."""


def repo_root() -> Path:
    """The checkout this package is installed from (src/ash/cli/serve.py -> repo root)."""
    return Path(__file__).resolve().parents[3]


def serve_binary() -> Path:
    """The ``ash-serve`` binary: $ASH_SERVE_BIN, the checkout's release build, or PATH."""
    explicit = os.environ.get(BIN_ENV)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ServeError(f"{BIN_ENV}={explicit} is not a file")
        return path
    built = repo_root() / "inference-rs" / "target" / "release" / "ash-serve"
    if built.is_file():
        return built
    found = shutil.which("ash-serve")
    if found:
        return Path(found)
    raise ServeError(
        f"the Rust runtime is not built ({built} is missing); run scripts/setup.sh "
        "(it runs cargo build --release in inference-rs/)"
    )


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
    """The ``ash-serve`` argv and environment for serving ``model``."""
    try:
        lib = onnxruntime_library()
    except RuntimeLibraryNotFoundError as exc:
        raise ServeError(str(exc)) from exc
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


def serve(
    run_or_model_path: Annotated[
        Path, typer.Argument(help="A run folder (serves RUN/model.onnx) or a .onnx file.")
    ],
    listen: Annotated[
        str, typer.Option(help="TCP address to listen on (loopback by default).")
    ] = "127.0.0.1:7878",
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Read JSON lines from stdin, write to stdout.")
    ] = False,
    symbols: Annotated[
        str | None, typer.Option(help="Comma-separated symbols to accept (others rejected).")
    ] = None,
    session: Annotated[
        str | None, typer.Option(help='Local trading window "HH:MM-HH:MM"; events outside dropped.')
    ] = None,
    threads: Annotated[int, typer.Option(min=1, help="ONNX Runtime intra-op threads.")] = 1,
    cuda: Annotated[
        bool, typer.Option("--cuda", help="CUDA execution provider (error if it cannot start).")
    ] = False,
    device_id: Annotated[int, typer.Option(min=0, help="CUDA device id.")] = 0,
    variant: Annotated[
        str, typer.Option(help="Model variant in a run: onnx, ort or fp16.")
    ] = "onnx",
    emit: Annotated[
        str, typer.Option(help="bar: predict on every finished bar; request: only on request.")
    ] = "bar",
    log_every: Annotated[float, typer.Option(help="Seconds between latency logs.")] = 10.0,
) -> None:
    """Serve a contract-v1 model with the Rust runtime: JSON-lines ticks in, predictions out."""
    try:
        model = resolve_model(run_or_model_path, variant)
        argv, env = build_command(
            model,
            listen=listen,
            stdin=stdin,
            symbols=[s.strip() for s in symbols.split(",") if s.strip()] if symbols else None,
            session=session,
            threads=threads,
            cuda=cuda,
            device_id=device_id,
            emit=emit,
            log_every=log_every,
        )
    except ServeError as exc:
        typer.echo(f"ash serve: {exc}", err=True)
        raise typer.Exit(1) from exc
    # Replace this process with ash-serve (same pid): every signal (SIGTERM from a supervisor,
    # SIGINT from the terminal) reaches the server itself, and no wrapper can die and leave an
    # orphaned server listening behind it.
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, env)


app = typer.Typer(name="serve", help="Serve models with the Rust runtime.", no_args_is_help=True)
app.command("serve")(serve)
