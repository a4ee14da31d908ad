"""Tuning throughput on a real study (benchmark, not a test).

    python -m ash.bench.tuning [--trials 8] [--budget-ms 1.0]

Runs ``configs/tune_synthetic.yaml`` for real — SQLite storage, the latency probe on the Rust
runtime (or Python ONNX Runtime, labelled), TPE with the latency constraint, median pruning —
on a shrunken market and training budget so it finishes in minutes, then trains the base
configuration once with plain ``ash train`` machinery (the reference). Prints trials/hour, the
state of every trial, and the ratio to plain training runs/hour: above 1 the tuner explores
faster than training every candidate would, because over-budget candidates cost one export and
a latency probe instead of a training run.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

from ash.config.loader import load_experiment_dict
from ash.config.resolve import ResolvedExperiment, resolve
from ash.paths import repo_root
from ash.pipeline import load_bar_data
from ash.registry import get_registry
from ash.runs import ENV_ROOT
from ash.train import run_training
from ash.tune.runner import TuneOptions, run_tune

REPO = repo_root()
CONFIG = REPO / "configs" / "tune_synthetic.yaml"
# Small enough for minutes on 2 cores, large enough that training dominates a trained trial.
SHRINK = [
    "data.source.n_days=6",
    "train.epochs=2",
    "train.max_train_samples=4000",
    "train.max_val_samples=2000",
]


def base_experiment(overrides: list[str]) -> ResolvedExperiment:
    loaded = load_experiment_dict(CONFIG, overrides)
    return resolve(loaded.data, get_registry(), loaded)


def plain_training_s(resolved: ResolvedExperiment, root: Path) -> float:
    """Seconds for one ordinary training run of the base (untuned) configuration."""
    started = time.perf_counter()
    run_training(resolved, run_dir=root / "plain", progress=False)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--budget-ms", type=float, default=1.0, help="p99 latency budget (ms)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    overrides = [*SHRINK, f"tune.budget.p99_ms={args.budget_ms}"]
    with tempfile.TemporaryDirectory(prefix="ash-tune-bench-") as tmp:
        root = Path(tmp)
        os.environ[ENV_ROOT] = str(root / "experiments")
        base = base_experiment(overrides)
        load_bar_data(base, root / "experiments")  # warm the bar cache: neither side pays it
        started = time.perf_counter()
        outcome = run_tune(
            CONFIG,
            TuneOptions(overrides=overrides, trials=args.trials, out_root=root / "tuning"),
        )
        study_s = time.perf_counter() - started
        plain_s = plain_training_s(base, root)
    s = outcome.summary
    trials_per_hour = 3600.0 * s.n_trials / study_s
    plain_per_hour = 3600.0 / plain_s
    mean_train = f"{s.mean_train_s:.1f}" if s.mean_train_s is not None else "n/a"
    print(
        f"Study `{s.study_name}` ({args.trials} trials, budget p99 {args.budget_ms:g} ms, "
        f"overrides {' '.join(SHRINK)}), SQLite storage, wall {study_s:.0f} s "
        f"(latency probes {s.latency_check_s:.0f} s in total).\n"
    )
    print(
        "| trials | completed | pruned (latency) | pruned (accuracy) | invalid | failed "
        "| mean training s (completed) | trials/hour | plain training runs/hour (reference) "
        "| ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {s.n_trials} | {s.completed} | {s.pruned_latency} | {s.pruned_accuracy} "
        f"| {s.pruned_invalid} | {s.failed} | {mean_train} | {trials_per_hour:.1f} "
        f"| {plain_per_hour:.1f} | {trials_per_hour / plain_per_hour:.2f}× |"
    )
    print(
        "\nThe reference trains the base configuration of the same study once, with the same "
        "overrides and no tuner; sampled trials are often larger models, so a trained trial takes "
        "longer than the reference. A full-size study (16 trials on the default data, 29.8 "
        "trials/hour) is in docs/tuning.md."
    )


if __name__ == "__main__":
    main()
