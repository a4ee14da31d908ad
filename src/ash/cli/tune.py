"""`ash tune EXPERIMENT.yaml`: an Optuna study against a latency budget (one worker).

Start the same command on as many machines as you like with one ``--storage`` URL
(``postgresql://…``) and they share the study. Wire it with ``app.command()(tune)``.
Run standalone with ``python -m ash.cli.tune EXPERIMENT.yaml``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from ash.cli.consoles import console, err_console


def tune(
    experiment: Annotated[Path, typer.Argument(help="Experiment YAML with a `tune:` block.")],
    storage: Annotated[
        str | None,
        typer.Option(
            help="Optuna storage: sqlite:///file.db, postgresql://user@host/db (many workers), "
            "or a journal file (*.log). Default: experiments/tuning/<study>.db.",
        ),
    ] = None,
    study_name: Annotated[
        str | None, typer.Option(help="Study name (default: tune.study_name or experiment name).")
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(min=1, help="Finished trials the study should reach (all workers)."),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Stop this worker after this many seconds.")
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config value, e.g. --set tune.budget.p99_ms=0.5."),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Folder for study outputs (report, plots, best.yaml, trials).")
    ] = Path("experiments/tuning"),
    worker_id: Annotated[
        str | None,
        typer.Option(help="Name of this worker (seeds its sampler; default host-pid)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every trial.")] = False,
) -> None:
    """Tune an experiment: latency-first pruning, per-epoch pruning, best trial as YAML."""
    import optuna

    from ash.config import ConfigError
    from ash.runtime import ServeError
    from ash.tune.objective import ObjectiveMetricError
    from ash.tune.runner import TuneOptions, run_tune
    from ash.tune.study import StorageError, StudyMismatchError, redact

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    optuna.logging.set_verbosity(optuna.logging.INFO if verbose else optuna.logging.WARNING)
    options = TuneOptions(
        overrides=list(overrides or []),
        storage=storage,
        study_name=study_name,
        trials=trials,
        timeout_s=timeout,
        worker_id=worker_id,
        out_root=out,
        progress=verbose,
    )
    try:
        outcome = run_tune(experiment, options)
    except ConfigError as exc:
        err_console.print(f"[bold red]error:[/] {exc.format()}", highlight=False)
        raise typer.Exit(code=1) from None
    except (
        StorageError,
        StudyMismatchError,
        ServeError,
        ObjectiveMetricError,
    ) as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None
    s = outcome.summary
    console.print(
        f"study [bold]{outcome.study_name}[/]: {s.n_trials} trials — {s.completed} completed, "
        f"{s.pruned_latency} pruned for latency (untrained), {s.pruned_accuracy} pruned for "
        f"accuracy, {s.pruned_invalid} invalid, {s.failed} failed; this worker ran "
        f"{len(outcome.ran_here)}",
        highlight=False,
    )
    if outcome.best_yaml is not None:
        console.print(f"best trial #{s.best_number}: {s.best_value:.6g} -> {outcome.best_yaml}")
    console.print(
        f"report: {outcome.out_dir / 'report.md'}  storage: {redact(outcome.storage_url)}"
    )


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command()(tune)

if __name__ == "__main__":
    app()
