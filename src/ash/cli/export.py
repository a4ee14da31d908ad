"""``ash export RUN``: write ``RUN/model.onnx`` (and variants), optionally check parity."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape


def export(
    run: Annotated[Path, typer.Argument(help="A trained run folder (experiments/runs/...).")],
    validate: Annotated[
        bool, typer.Option("--validate/--no-validate", help="Check PyTorch vs ONNX parity.")
    ] = True,
    optimize: Annotated[
        bool,
        typer.Option("--optimize/--no-optimize", help="Also try ORT's offline-optimised graph."),
    ] = True,
    fp16: Annotated[bool, typer.Option("--fp16", help="Also write model.fp16.onnx.")] = False,
) -> None:
    """Export a run's final model to the ONNX contract v1 (docs/contract.md)."""
    from ash import progress
    from ash.checkpoint import CheckpointError
    from ash.export.exporter import ExportError
    from ash.export.parity import ParityError
    from ash.export.run import export_run
    from ash.export.violations import ContractViolationError
    from ash.runs import RunError

    console = Console(highlight=False, soft_wrap=True)
    try:
        with progress.step(f"export of {run} to ONNX") as shown:
            done = export_run(run, validate=validate, optimize=optimize, fp16=fp16)
            worst = max(
                (r.max_abs_diff for r in (done.parity, done.fp16_parity) if r), default=None
            )
            shown.summary = "contract v1" + (
                f", parity max |Δprob| {worst:.1e}" if worst is not None else ", parity not checked"
            )
    except (ExportError, ContractViolationError, ParityError, RunError, CheckpointError) as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"[bold red]error:[/] export failed: {escape(str(exc))}"
        )
        raise typer.Exit(1) from exc
    result = done.result
    console.print(f"wrote {escape(str(result.path))} (contract v1, validated)")
    for variant in (result.ort_path, result.fp16_path):
        if variant is not None:
            console.print(f"wrote {escape(str(variant))}")
    for name, lat in result.latency_ms.items():
        # escape: rich would take "[model.onnx]" for a style tag and drop it
        console.print(
            escape(f"  ORT 1 thread batch 1 [{name}]: ")
            + f"p50 {lat['p50_ms']:.3f} ms, p99 {lat['p99_ms']:.3f} ms"
        )
    if done.windows_source:
        console.print(f"parity checked on {escape(done.windows_source)}")
    for report in (done.parity, done.fp16_parity):
        if report is not None:
            console.print(escape(report.describe()))


app = typer.Typer(name="export", help="Export runs to ONNX.", no_args_is_help=True)
app.command("export")(export)
