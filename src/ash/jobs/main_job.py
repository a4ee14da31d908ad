"""The main job, end to end: data -> bars -> train -> evaluate -> export -> Rust replay.

``ash demo`` runs it on the embedded default: the three bundled SPY days imported into DuckDB
(or the synthetic market with ``--synthetic``). It ends by printing where the report is and a
short table: per horizon, the model against the baselines on the test span, and the latency of
the Rust runtime serving the exported model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from ash.config import ResolvedExperiment, load_experiment
from ash.data.sources.importer import import_path
from ash.evaluate import evaluate_run
from ash.evaluate.report import verdict
from ash.evaluate.summary import summary_table
from ash.export.run import export_run
from ash.jobs.replay import ReplayResult, replay_run
from ash.pipeline import prepare_data
from ash.runs import experiments_root, load_model
from ash.train import run_training

SHARED_DATA_ENV = "ASH_SHARED_DATA"
REPLAY_EXTRA_BARS = 300  # bars served after the window fills


@dataclass
class MainJobResult:
    run_dir: Path
    metrics: dict[str, Any]
    replay: ReplayResult


def shared_data_dir(repo: Path) -> Path:
    """The sample market data: $ASH_SHARED_DATA, else ../shared/data beside the checkout."""
    explicit = os.environ.get(SHARED_DATA_ENV)
    path = Path(explicit) if explicit else repo.parent / "shared" / "data"
    if not path.is_dir():
        raise FileNotFoundError(
            f"sample data folder {path} not found; set {SHARED_DATA_ENV} to the folder that holds "
            "spy-2013-10/ and lobster/, or run the synthetic main job (ash demo --synthetic)"
        )
    return path


def import_spy(resolved: ResolvedExperiment, repo: Path, console: Console) -> None:
    """Load the bundled SPY days into the experiment's DuckDB store (idempotent)."""
    source = resolved.component("data.source")
    db = Path(source.config.model_dump()["path"])
    db.parent.mkdir(parents=True, exist_ok=True)
    spy = shared_data_dir(repo) / "spy-2013-10"
    console.rule("[bold]1/5 data[/]: SPY trades and quotes into DuckDB")
    results = import_path(db, "lean", spy, progress=True, console=console)
    imported = [r for r in results if r.status == "imported"]
    rows = sum(r.rows for r in imported)
    skipped = sum(1 for r in results if r.status == "skipped")
    console.print(
        f"{db}: {len(imported)} table(s) imported ({rows:,} rows), {skipped} already there"
    )


def _test_stretch(
    resolved: ResolvedExperiment, run_dir: Path, window: int
) -> tuple[str, pd.Timestamp, pd.Timestamp]:
    """A stretch of the test span: the window before the first test sample plus some bars."""
    prepared = prepare_data(resolved, window, experiments_root())
    bars = prepared.bars
    if len(prepared.samples.test) == 0:
        raise ValueError(f"{run_dir}: the test split is empty; nothing to replay")
    end_index = int(prepared.samples.test[0])
    segment = bars.segment_id[end_index]
    in_segment = np.flatnonzero(bars.segment_id == segment)
    first = max(int(in_segment[0]), end_index - window - 10)
    last = min(int(in_segment[-1]), first + window + REPLAY_EXTRA_BARS)
    start = pd.Timestamp(int(bars.ts_ns[first]), tz="UTC")
    end = pd.Timestamp(int(bars.ts_ns[last]), tz="UTC") + pd.Timedelta(seconds=bars.bar_seconds)
    return bars.symbols[int(bars.symbol_index[end_index])], start, end


def replay_test_stretch(resolved: ResolvedExperiment, run_dir: Path, window: int) -> ReplayResult:
    """Serve the exported model with ash-serve on real test-span ticks (its context symbol's
    too) and compare with Python: the same path as ``ash replay RUN``."""
    symbol, start, end = _test_stretch(resolved, run_dir, window)
    return replay_run(run_dir, start, end, symbols=[symbol], resolved=resolved)


def run_main_job(
    experiment: Path, repo: Path, console: Console, overrides: list[str] | None = None
) -> MainJobResult:
    resolved = load_experiment(experiment, overrides)
    if resolved.component("data.source").info.name == "duckdb":
        import_spy(resolved, repo, console)
    else:
        console.rule(f"[bold]1/5 data[/]: {resolved.component('data.source').info.name} source")
    console.rule("[bold]2/5 train[/]")
    trained = run_training(resolved, progress=True)
    run_dir = trained.run_dir
    console.rule("[bold]3/5 evaluate[/]")
    metrics = evaluate_run(run_dir)
    console.rule("[bold]4/5 export[/]: ONNX contract v1, parity against PyTorch")
    exported = export_run(run_dir, validate=True)
    if exported.parity is not None:
        console.print(f"parity: max |Δprob| {exported.parity.max_abs_diff:.2e}")
    console.rule("[bold]5/5 Rust replay[/]: ash-serve on real test-span ticks")
    model, _ = load_model(run_dir)
    result = replay_test_stretch(resolved, run_dir, model.window)
    console.print(summary_table(metrics))
    evaluation = metrics["evaluation"]
    console.print(verdict(evaluation["test"], evaluation["horizons_s"]))
    console.print(
        f"Rust runtime: {result.ticks} ticks -> {result.bars} bars -> {result.predictions} "
        f"predictions; bars equal to Python's: {result.bars_equal}; max |Δprob| vs Python ONNX "
        f"Runtime {result.max_prob_diff:.2e}; served latency p50 {result.latency_p50_us:.0f} µs, "
        f"p99 {result.latency_p99_us:.0f} µs (1 thread, batch 1)"
    )
    console.print(f"report: {run_dir / 'report.md'}")
    if not result.ok:
        raise RuntimeError(
            "the Rust replay disagrees with Python (bars or probabilities); see the lines above"
        )
    return MainJobResult(run_dir, metrics, result)
