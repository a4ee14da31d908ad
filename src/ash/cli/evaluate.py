"""``ash evaluate RUN``: score a run against baselines; writes metrics.json, plots, report.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ash.cli.consoles import console
from ash.cli.errors import reports_user_errors


def evaluate_with_progress(run: Path) -> dict[str, Any]:
    """``evaluate_run`` under a progress line; prints the test-span summary table."""
    from ash import progress
    from ash.evaluate import evaluate_run
    from ash.evaluate.summary import summary_table

    with progress.step(f"evaluation of {run}") as shown:
        metrics = evaluate_run(run)
        figures = metrics["evaluation"].get("figures", [])
        shown.summary = f"metrics.json, report.md and {len(figures)} plots written"
    console.print(summary_table(metrics))
    return metrics


app = typer.Typer(help="Evaluate a run.", no_args_is_help=True, pretty_exceptions_enable=False)


@app.command("evaluate")
@reports_user_errors
def evaluate_command(
    run: Annotated[Path, typer.Argument(help="Run folder (experiments/runs/<name>_<time>).")],
) -> None:
    """Evaluate RUN on validation and test: NLL, Brier, RPS, ECE, PIT, sharpness, direction,
    P&L, against climatology, EWMA Gaussians and (synthetic data) the oracle."""
    from ash import runs
    from ash.jobs.walkforward import aggregate, fold_dirs, is_walk_forward

    if not run.is_dir():
        raise runs.RunError(f"{run} is not a folder")
    if is_walk_forward(run):
        for fold in fold_dirs(run):
            evaluate_with_progress(fold)
        aggregate(run)
        console.print(f"walk-forward table: {run / 'walk_forward.md'}")
        return
    evaluate_with_progress(run)
    console.print(f"report: {run / runs.REPORT_FILE}")
