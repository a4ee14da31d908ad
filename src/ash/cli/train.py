"""``ash train EXPERIMENT.yaml [--set k=v ...] [--resume RUN_DIR]`` (wired by the lead)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ash.cli.consoles import console, err_console
from ash.cli.errors import reports_user_errors

app = typer.Typer(help="Train a model.", no_args_is_help=True, pretty_exceptions_enable=False)


@app.command("train")
@reports_user_errors
def train_command(
    experiment: Annotated[
        Path | None,
        typer.Argument(help="Experiment YAML (optional with --resume: the run's own config)."),
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config value, e.g. --set train.epochs=5."),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option("--resume", help="Continue the interrupted run in this folder."),
    ] = None,
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Write the run here (default: new folder).")
    ] = None,
    evaluate: Annotated[
        bool, typer.Option("--evaluate/--no-evaluate", help="Evaluate after training.")
    ] = True,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Train EXPERIMENT; writes experiments/runs/<name>_<UTC time>/ (report, plots, model).

    Under torchrun every process trains a shard of each global batch (DDP); only rank 0 writes.
    """
    from ash import runs
    from ash.cli.evaluate import evaluate_with_progress
    from ash.config import load_experiment
    from ash.jobs.walkforward import run_walk_forward
    from ash.train import run_training
    from ash.train.distributed import launched_by_torchrun

    if resume is not None:
        if (resume / "folds").is_dir():
            raise runs.RunError(
                f"{resume} is a walk-forward run; its folds cannot be resumed as one run — "
                "resume a fold (--resume RUN/folds/fold_k) or train again"
            )
        resolved = runs.load_config(resume)
        if experiment is not None:
            given = load_experiment(experiment, overrides).to_dict()
            if given != resolved.to_dict():
                err_console.print(
                    f"[yellow]note:[/] resuming with {resume / runs.CONFIG_FILE}; it differs "
                    f"from {experiment} (the run's own config wins)"
                )
    elif experiment is None:
        err_console.print("[bold red]error:[/] give an EXPERIMENT file or --resume RUN_DIR")
        raise typer.Exit(code=2)
    else:
        resolved = load_experiment(experiment, overrides)

    # A bad config or run folder, a store without data, a bad checkpoint: one line each, from
    # the CLI's error handler (ash.cli.errors).
    if resolved.experiment.split.walk_forward_folds > 0 and resume is None:
        table = run_walk_forward(resolved, run_dir=run_dir, progress=progress)
        console.print(f"walk-forward over {table['n_folds']} folds done")
        return
    result = run_training(
        resolved, run_dir=resume or run_dir, resume=resume is not None, progress=progress
    )
    is_worker = launched_by_torchrun() and _rank() != 0
    if is_worker:
        return
    console.print(f"run folder: {result.run_dir}")
    console.print(
        "validation NLL (calibrated): "
        + ", ".join(
            f"{k[5:]} {v:.4f}"
            for k, v in result.val_metrics.items()
            if k.startswith("nll_h") and "uncal" not in k
        )
    )
    if evaluate:
        evaluate_with_progress(result.run_dir)
        console.print(f"report: {result.run_dir / runs.REPORT_FILE}")


def _rank() -> int:
    import os

    return int(os.environ.get("RANK", "0"))
