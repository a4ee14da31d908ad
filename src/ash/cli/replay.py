"""``ash replay RUN_OR_MODEL --db STORE --symbols ... --start --end``: days of a store through
``ash-serve``, checked against Python (the shell over :func:`ash.api.replay`; docs/runtime.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ash.cli.consoles import console, err_console

if TYPE_CHECKING:
    from ash.jobs.replay import ReplayResult


def replay_command(
    run_or_model: Annotated[
        Path, typer.Argument(help="A run folder (replays RUN/model.onnx) or a .onnx file.")
    ],
    start: Annotated[str, typer.Option(help="First day or time, UTC unless zoned (2013-10-09).")],
    end: Annotated[str, typer.Option(help="Exclusive end day or time (2013-10-10: one day).")],
    symbols: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated symbols, served together (e.g. SPY,QQQ; default: a run's own). "
            "A model's context symbol is added to the stream."
        ),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option(
            help="DuckDB store written by `ash data import` (default: a run's own data source)."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the served forecasts here (Parquet).")
    ] = None,
    session: Annotated[
        str | None,
        typer.Option(help='Local trading window "HH:MM-HH:MM" (default: the run\'s bars.session).'),
    ] = None,
    bucket_probs: Annotated[
        bool, typer.Option("--bucket-probs", help="--out also keeps each row's probs and edges.")
    ] = False,
) -> None:
    """Stream a store's ticks for those days through ash-serve (every symbol at once): bars,
    probabilities and P(up/flat/down) checked against Python, latency percentiles, counts and
    rejects. Exits 1 if Rust and Python disagree."""
    from ash.evaluate.forecasts import write_forecasts
    from ash.jobs.replay import ReplayError, replay_run, replay_store
    from ash.runtime import ServeError

    names = [s.strip() for s in (symbols or "").split(",") if s.strip()]
    try:
        with console.status(f"replaying {', '.join(names) or 'the run'} [{start}, {end})"):
            if db is None and run_or_model.is_dir() and session is None:
                result = replay_run(
                    run_or_model, start, end, symbols=names or None, bucket_probs=bucket_probs
                )
            else:
                result = replay_store(
                    run_or_model,
                    db if db is not None else Path("data/ash.duckdb"),
                    names,
                    start,
                    end,
                    session_window=session,
                    bucket_probs=bucket_probs,
                )
    except (ReplayError, ServeError, ValueError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None
    console.print(result_table(result))
    if out is not None and result.forecasts is not None:
        write_forecasts(result.forecasts, out)
        console.print(f"forecasts: {out} ({len(result.forecasts):,} rows)")
    verdict = "[green]Rust equals Python[/]" if result.ok else "[red]Rust differs from Python[/]"
    console.print(
        f"{verdict}: {result.predictions:,} predictions, bars equal {result.bars_equal}, "
        f"max |Δprob| {result.max_prob_diff:.1e}"
    )
    if not result.ok:
        raise typer.Exit(code=1)


def result_table(result: ReplayResult) -> Table:
    """Counts, checks and the served latency of one replay."""
    table = Table(title=f"ash replay: {', '.join(result.symbols)}", title_justify="left")
    table.add_column("", style="bold")
    table.add_column("value", justify="right")
    rows = [
        ("tick lines sent", f"{result.lines:,}"),
        ("ticks accepted", f"{result.ticks:,}"),
        ("rejected", ", ".join(f"{k} {v:,}" for k, v in result.rejected.items()) or "0"),
        ("bars (Rust / Python)", f"{result.bars:,} / {result.bars_python:,}"),
        ("bars equal (bit for bit)", str(result.bars_equal)),
        ("predictions", f"{result.predictions:,}"),
        ("max |Δprob| vs Python ONNX Runtime", f"{result.max_prob_diff:.2e}"),
        ("max |Δsummary| vs ash.decoding", f"{result.max_summary_diff:.2e}"),
    ]
    for key in ("p50", "p90", "p99", "p999", "max"):
        if key in result.latency_us:
            rows.append((f"latency {key} (µs)", f"{result.latency_us[key]:,.0f}"))
    for name, value in rows:
        table.add_row(name, value)
    return table
