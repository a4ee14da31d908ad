"""``ash replay RUN``: serve a run's model with ``ash-serve`` on real ticks of several symbols at
once (the context symbol's included) and check bars and probabilities against Python.

The work is :func:`ash.jobs.replay.replay_run`; this is the shell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from ash.cli.consoles import console, err_console
from ash.jobs.replay import PROB_TOLERANCE, ReplayError, replay_run


def replay_command(
    run: Annotated[Path, typer.Argument(help="A run folder with model.onnx (ash export RUN).")],
    start: Annotated[str, typer.Option(help="Start of the ticks (ISO time; UTC unless zoned).")],
    end: Annotated[str, typer.Option(help="End of the ticks (exclusive).")],
    symbols: Annotated[
        str | None,
        typer.Option(help="Comma-separated symbols to serve (default: the experiment's)."),
    ] = None,
) -> None:
    """Replay real ticks of every symbol at once through ash-serve; compare with Python."""

    def stamp(text: str) -> pd.Timestamp:
        ts = pd.Timestamp(text)
        return ts.tz_localize("UTC") if ts.tzinfo is None else ts

    wanted = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else None
    try:
        result = replay_run(run, stamp(start), stamp(end), symbols=wanted)
    except (ReplayError, ValueError, FileNotFoundError) as exc:
        err_console.print(f"ash replay: {exc}")
        raise typer.Exit(1) from exc
    table = Table(title=f"ash-serve vs Python on {run}")
    table.add_column("symbol")
    table.add_column("predictions", justify="right")
    for symbol, n in result.predictions_by_symbol.items():
        table.add_row(symbol, f"{n:,}")
    console.print(table)
    verdict = "[green]equal[/]" if result.ok else "[red]DIFFERENT[/]"
    console.print(
        f"{result.ticks:,} ticks, {result.bars:,} bars (bit-equal: {result.bars_equal}), "
        f"max |Δprob| {result.max_prob_diff:.2e} (tolerance {PROB_TOLERANCE:g}), rejected "
        f"{result.rejected or 'none'}, latency p50 {result.latency_p50_us:.0f} µs: {verdict}"
    )
    if not result.ok:
        raise typer.Exit(1)
