"""``ash evaluate RUN``: score a run against baselines; writes metrics.json, plots, report.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ash.cli.consoles import console, err_console

app = typer.Typer(help="Evaluate a run.", no_args_is_help=True, pretty_exceptions_enable=False)


@app.command("evaluate")
def evaluate_command(
    run: Annotated[Path, typer.Argument(help="Run folder (experiments/runs/<name>_<time>).")],
) -> None:
    """Evaluate RUN on validation and test: NLL, Brier, RPS, ECE, PIT, sharpness, direction,
    P&L, against climatology, EWMA Gaussians and (synthetic data) the oracle."""
    from ash import runs
    from ash.checkpoint import CheckpointError
    from ash.evaluate import evaluate_run
    from ash.jobs.walkforward import aggregate, fold_dirs, is_walk_forward

    if not run.is_dir():
        err_console.print(f"[bold red]error:[/] {run} is not a folder")
        raise typer.Exit(code=1)
    try:
        if is_walk_forward(run):
            for fold in fold_dirs(run):
                evaluate_run(fold)
            aggregate(run)
            console.print(f"walk-forward table: {run / 'walk_forward.md'}")
            return
        evaluate_run(run)
    except (runs.RunError, CheckpointError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None
    console.print(f"report: {run / runs.REPORT_FILE}")
