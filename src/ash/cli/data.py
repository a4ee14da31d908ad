"""``ash data``: import market data into the DuckDB store and profile it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ash.cli.consoles import console, err_console
from ash.data.sources.report import DataError

app = typer.Typer(
    name="data",
    help="Import market data into the embedded DuckDB store and profile it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# soft_wrap: paths and counts stay on one line whatever the terminal width (greppable output).

DbOption = Annotated[Path, typer.Option("--db", help="DuckDB store file (created if missing).")]


@app.command("import")
def import_cmd(
    kind: Annotated[
        str,
        typer.Argument(
            help="Format: lean (zip files/folder), lobster (message file or folder), or "
            "trades / quotes / options (canonical CSV or Parquet)."
        ),
    ],
    path: Annotated[Path, typer.Argument(help="A file or a folder (searched recursively).")],
    db: DbOption = Path("data/ash.duckdb"),
    symbol: Annotated[
        str | None, typer.Option(help="Only this symbol (lean/lobster); lean: overrides names.")
    ] = None,
    day: Annotated[
        list[str] | None, typer.Option("--day", help="Only these days, YYYYMMDD (repeatable).")
    ] = None,
    in_place: Annotated[
        bool,
        typer.Option("--in-place", help="Register canonical Parquet as a view instead of copying."),
    ] = False,
    allow_overlap: Annotated[
        bool,
        typer.Option(
            "--allow-overlap",
            help="Accept data overlapping earlier imports of the same symbol (different events).",
        ),
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Load files into the store; files already imported (same content hash) are skipped."""
    from ash.data.sources.importer import FORMATS, import_path

    if kind not in FORMATS:
        err_console.print(
            f"[red]error:[/red] unknown format {kind!r}; use one of {', '.join(FORMATS)}"
        )
        raise typer.Exit(2)
    try:
        results = import_path(
            db,
            kind,  # type: ignore[arg-type]
            path,
            symbol=symbol,
            days=day,
            in_place=in_place,
            allow_overlap=allow_overlap,
            progress=progress,
            console=err_console,
        )
    except DataError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    for r in results:
        console.print(r.line(), highlight=False, markup=False)
    added = sum(r.rows for r in results if r.status in ("imported", "registered"))
    skipped = len({r.path for r in results if r.status == "skipped"})
    console.print(
        f"{added:,} rows added to {db}; {skipped} file(s) already imported", highlight=False
    )


@app.command("profile")
def profile_cmd(
    db: DbOption = Path("data/ash.duckdb"),
    out: Annotated[Path, typer.Option("--out", help="Folder for the report files.")] = Path(
        "experiments/data_profile"
    ),
    gap_seconds: Annotated[
        float, typer.Option(help="Report silences longer than this inside the regular session.")
    ] = 30.0,
    jump_sigma: Annotated[
        float, typer.Option(help="Flag trade-to-trade moves beyond this many robust sigmas.")
    ] = 10.0,
) -> None:
    """Write data_dictionary.md, quality_report.md, profile.json and plots for a store."""
    from ash.data.profile import profile_store

    try:
        result = profile_store(db, out, gap_seconds=gap_seconds, jump_sigma=jump_sigma)
    except DataError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"wrote {result.dictionary}", highlight=False)
    console.print(f"wrote {result.report}", highlight=False)
    console.print(f"wrote {len(result.plots)} plots to {out}", highlight=False)
