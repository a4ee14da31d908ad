"""The `ash` command line: one entry point, one sub-command per job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from ash import __version__
from ash.cli import contract as contract_cli
from ash.cli import data as data_cli
from ash.cli.consoles import console, err_console
from ash.cli.evaluate import evaluate_command
from ash.cli.export import export as export_command
from ash.cli.plugins_cmd import print_plugins
from ash.cli.replay import replay_command
from ash.cli.serve import serve as serve_command
from ash.cli.train import train_command
from ash.cli.tune import tune as tune_command
from ash.config import ConfigError, load_experiment
from ash.paths import repo_root
from ash.registry import get_registry

app = typer.Typer(
    name="ash",
    help=(
        "ash: a plugin-registry model factory for probabilistic price prediction.\n\n"
        "Write a YAML experiment; ash builds bars from market data, trains a model that "
        "predicts a calibrated distribution of future returns at several horizons, evaluates "
        "it against baselines, exports it to ONNX and serves it from Rust."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a config value, e.g. --set model.backbone.d_model=128 (repeatable).",
    ),
]


def _version(value: bool) -> None:
    if value:
        console.print(f"ash {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """ash command line."""


@app.command()
def plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List every component by kind, with its distribution, version and parameters.

    Plugins that failed to load are listed with their error; they do not affect experiments
    that do not use them.
    """
    print_plugins(get_registry(), console, as_json)


@app.command()
def validate(
    experiment: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    overrides: SetOption = None,
) -> None:
    """Validate an experiment and print it fully resolved (every default filled in).

    The data source is opened as training would open it, so a missing store, a file that is not
    a DuckDB database or an empty Lean folder is reported here.
    """
    from rich.markup import escape

    from ash.data.sources.report import DataError
    from ash.pipeline import check_source

    try:
        resolved = load_experiment(experiment, overrides)
        check_source(resolved)
    except ConfigError as exc:
        err_console.print(f"[bold red]error:[/] {exc.format()}", highlight=False)
        raise typer.Exit(code=1) from None
    except DataError as exc:
        err_console.print(f"[bold red]error:[/] data.source: {escape(str(exc))}", highlight=False)
        raise typer.Exit(code=1) from None
    console.print(f"# {experiment}: valid", style="green")
    # Plain output: the resolved experiment must stay valid YAML whatever the terminal width.
    typer.echo(yaml.safe_dump(resolved.to_dict(), sort_keys=False, width=10_000), nl=False)


@app.command()
def demo(
    experiment: Annotated[
        Path | None,
        typer.Argument(help="Experiment YAML (default: configs/spy.yaml, or --synthetic)."),
    ] = None,
    synthetic: Annotated[
        bool,
        typer.Option("--synthetic", help="Run on the synthetic market (configs/default.yaml)."),
    ] = False,
    overrides: SetOption = None,
) -> None:
    """The main job end to end: data -> bars -> train -> evaluate -> export -> Rust replay.

    By default on the embedded store: the bundled SPY days imported into DuckDB. Ends with
    where the report is and a table of the model against the baselines per horizon, plus the
    latency of the Rust runtime serving the exported model.
    """
    from ash.jobs.main_job import run_main_job

    repo = repo_root()
    chosen = experiment or repo / "configs" / ("default.yaml" if synthetic else "spy.yaml")
    try:
        run_main_job(chosen, repo, console, overrides)
    except ConfigError as exc:
        err_console.print(f"[bold red]error:[/] {exc.format()}", highlight=False)
        raise typer.Exit(code=1) from None


@app.command()
def bench(
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only these sections (repeatable).")
    ] = None,
    skip: Annotated[
        list[str] | None, typer.Option("--skip", help="Skip these sections (repeatable).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the page here (default: docs/benchmarks.md).")
    ] = None,
) -> None:
    """Run the benchmark suite: bars, simulation, training, export, Rust runtime, tuning, quality.

    Each section compares against a reference measured in the same run and prints a table;
    the page goes to docs/benchmarks.md with the machine description.
    """
    from ash.bench.suite import REPO, SECTIONS, run_suite

    names = {s.name for s in SECTIONS}
    unknown = sorted((set(only or []) | set(skip or [])) - names)
    if unknown:
        err_console.print(f"[bold red]error:[/] unknown section(s) {unknown}; use {sorted(names)}")
        raise typer.Exit(code=2)
    target = out or (REPO / "docs" / "benchmarks.md" if not only else None)
    raise typer.Exit(code=run_suite(only or [], skip or [], target))


app.add_typer(data_cli.app, name="data", help="Import and profile market data.")
app.add_typer(contract_cli.app, name="contract", help="Check models against the ONNX contract.")
app.command("train")(train_command)
app.command("evaluate")(evaluate_command)
app.command("export")(export_command)
app.command("serve")(serve_command)
app.command("replay")(replay_command)
app.command("tune")(tune_command)


if __name__ == "__main__":
    app()
