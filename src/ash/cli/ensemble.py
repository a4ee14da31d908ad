"""``ash ensemble RUN... --out DIR``: one contract model mixing trained runs (docs/families.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ash.cli.consoles import console


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
    from ash.ensemble.build import build_ensemble
    from ash.ensemble.table import format_table

    # A refused member (EnsembleError), export or parity failure is a user error: the ash group
    # prints its one line and exits 1 (ash.cli.errors), like every other command.
    with console.status("fitting the ensemble (validation), exporting, scoring test"):
        done = build_ensemble(runs, out, max_samples=max_samples)
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
