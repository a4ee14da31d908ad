"""``ash serve RUN``: launch the Rust runtime (``ash-serve``) on a run's model.

Finding the binary and building its command line is :mod:`ash.runtime`'s job; this is the shell.
Protocol and options: docs/runtime.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from ash.runtime import ServeError, build_command, resolve_model


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
