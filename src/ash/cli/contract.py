"""``ash contract check MODEL.onnx``: print every contract violation, exit 1 if there is one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

# ash.export.validate's DEFAULT_MEMORY_BUDGET_BYTES in MiB, written out so that `ash --help` does
# not import the exporter (torch); tests/cli/test_startup.py checks that the two agree.
DEFAULT_MEMORY_BUDGET_MB = 256.0

app = typer.Typer(
    name="contract",
    help="The ONNX contract v1 (docs/contract.md): check that a model honours it.",
    no_args_is_help=True,
)


@app.callback()
def contract() -> None:
    """The ONNX contract v1 (docs/contract.md)."""


@app.command("check")
def check(
    model: Annotated[Path, typer.Argument(help="The ONNX model file to check.")],
    memory_budget_mb: Annotated[
        float,
        typer.Option(
            min=1e-6,
            help="Models whose declared sizes need more memory than this to check are refused.",
        ),
    ] = DEFAULT_MEMORY_BUDGET_MB,
) -> None:
    """Check MODEL against the contract; list every violation with its stable code."""
    from ash.export.validate import validate_model

    console = Console(highlight=False, soft_wrap=True)
    violations = validate_model(model, memory_budget_bytes=int(memory_budget_mb * (1 << 20)))
    if not violations:
        console.print(
            f"[green]ok[/green] {escape(str(model))} honours the ash ONNX contract v1",
            soft_wrap=True,
        )
        return
    console.print(
        f"[red]{len(violations)} violation{'s' if len(violations) != 1 else ''}[/red] of the ash "
        f"ONNX contract v1 in {escape(str(model))}:",
        soft_wrap=True,
    )
    for v in violations:
        console.print(f"  [bold]{escape(v.code)}[/bold]: {escape(v.message)}", soft_wrap=True)
    raise typer.Exit(1)
