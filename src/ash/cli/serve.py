"""``ash serve RUN``: launch the Rust runtime (``ash-serve``) on a run's model.

Finding the binary and building its command line is :mod:`ash.runtime`'s job; this is the shell.
The common options are typed here; every other ``ash-serve serve`` option (``--quantiles``,
``--max-symbols``, ``--emit-bars``, ``--port-file``, the bounds...) passes through unchanged, so
the two can never drift apart: ``ash serve --runtime-help`` prints them all. Protocol and
options: docs/runtime.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from ash.runtime import ServeError, build_command, resolve_model, serve_binary

# Unknown options (and their values) are collected for ash-serve instead of refused.
SERVE_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}


def serve(
    ctx: typer.Context,
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
    runtime_help: Annotated[
        bool,
        typer.Option(
            "--runtime-help",
            is_eager=True,
            callback=_runtime_help,
            help="Print every option of ash-serve serve (all of them pass through) and exit.",
        ),
    ] = False,
) -> None:
    """Serve a contract-v1 model with the Rust runtime: JSON-lines ticks in, predictions out.

    Any other ash-serve option passes through unchanged, e.g. --quantiles 0.1,0.5,0.9
    --max-symbols 500 --emit-bars --port-file PATH (see --runtime-help).
    """
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
    argv += ctx.args
    # Replace this process with ash-serve (same pid): every signal (SIGTERM from a supervisor,
    # SIGINT from the terminal) reaches the server itself, and no wrapper can die and leave an
    # orphaned server listening behind it.
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, env)


def _runtime_help(value: bool) -> None:
    if not value:
        return
    try:
        binary = serve_binary()
    except ServeError as exc:
        typer.echo(f"ash serve: {exc}", err=True)
        raise typer.Exit(1) from exc
    # Help only: ash-serve prints it without loading ONNX Runtime.
    sys.stdout.flush()
    os.execv(binary, [str(binary), "serve", "--help"])


app = typer.Typer(name="serve", help="Serve models with the Rust runtime.", no_args_is_help=True)
app.command("serve", context_settings=SERVE_CONTEXT)(serve)
