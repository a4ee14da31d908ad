"""``ash ensemble RUN... --out DIR``: one contract model mixing trained runs (docs/families.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table


def ensemble_command(
    runs: Annotated[list[Path], typer.Argument(help="Two or more trained run folders.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for model.onnx and the report.")],
    max_samples: Annotated[
        int | None,
        typer.Option(
            "--max-samples", help="Validation/test windows scored (default: evaluate.max_samples)."
        ),
    ] = None,
) -> None:
    """Mix trained runs per horizon (weights fitted on validation by NLL), export one contract
    model, and score it on test against the baselines and each member."""
    from ash.checkpoint import CheckpointError
    from ash.ensemble.build import build_ensemble
    from ash.ensemble.members import EnsembleError
    from ash.ensemble.table import format_table
    from ash.export.exporter import ExportError
    from ash.export.parity import ParityError
    from ash.runs import RunError

    console = Console(highlight=False, soft_wrap=True)
    try:
        with console.status("fitting the ensemble (validation), exporting, scoring test"):
            done = build_ensemble(runs, out, max_samples=max_samples)
    except (EnsembleError, ExportError, ParityError, RunError, CheckpointError) as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"[red]ensemble failed[/red]: {escape(str(exc))}"
        )
        raise typer.Exit(1) from exc
    weights = Table(title="mixture weights (fitted on validation)")
    weights.add_column("member")
    horizons = done.evaluation["horizons_s"]
    for seconds in horizons:
        weights.add_column(f"{seconds:g} s", justify="right")
    for i, label in enumerate(done.members):
        weights.add_row(escape(label), *(f"{done.weights[h, i]:.3f}" for h in range(len(horizons))))
    console.print(weights)
    console.print("test NLL (Δ vs the lattice EWMA Gaussian ±2 se):")
    console.print(escape(format_table(done.table)))
    console.print(
        f"wrote {escape(str(done.export.path))} (contract v1, validated); parity vs Python "
        f"max |Δprobs| {done.parity.max_abs_diff:.2e}"
    )
