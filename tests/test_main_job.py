"""The main job end to end on the embedded default, with a tiny model so it runs in CI:
bundled SPY days -> DuckDB -> bars -> train -> evaluate -> export -> ash-serve replay of real
test-span ticks, whose bars and probabilities must equal Python's."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from ash.cli.main import app
from ash.jobs.main_job import MainJobResult, run_main_job, shared_data_dir
from ash.runtime import ServeError, serve_binary

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.rust, pytest.mark.xdist_group("rust")]

TINY = [
    "model.steps=8",
    "model.backbone={kind: transformer, d_model: 16, n_layers: 1, n_heads: 2}",
    "train.epochs=1",
    "train.batch_size=128",
    "train.max_train_samples=1024",
    "train.max_val_samples=1024",
    "evaluate.max_samples=2000",
]


@dataclass(frozen=True)
class MainJob:
    result: MainJobResult
    text: str
    db: Path


@pytest.fixture(scope="module")
def main_job(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MainJob]:
    """The main job once per module: the store, the tiny trained, evaluated and exported run."""
    try:
        serve_binary()
        shared_data_dir(REPO)
    except (ServeError, FileNotFoundError) as exc:  # set-up builds both; say why if not
        pytest.fail(f"the main job needs the Rust binary and the sample data: {exc}")
    tmp_path = tmp_path_factory.mktemp("main-job")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ASH_EXPERIMENTS", str(tmp_path / "experiments"))
        db = tmp_path / "ash.duckdb"
        out = io.StringIO()
        console = Console(file=out, width=200)
        result = run_main_job(
            REPO / "configs" / "spy.yaml", REPO, console, [f"data.source.path={db}", *TINY]
        )
        yield MainJob(result, out.getvalue(), db)


def test_main_job_on_spy_with_a_tiny_model(main_job: MainJob) -> None:
    result, db = main_job.result, main_job.db
    text = main_job.text
    # Data: the three SPY days landed in the store (every trade line of the raw files).
    assert "1,227,722 rows" in text
    # A run folder with a report, plots and the exported contract-v1 model.
    assert (result.run_dir / "report.md").is_file()
    assert (result.run_dir / "model.onnx").is_file()
    assert any((result.run_dir / "plots").glob("*.png"))
    # The Rust runtime served real test-span ticks exactly like Python.
    replay = result.replay
    assert replay.bars_equal
    assert replay.predictions > 100
    assert replay.max_prob_diff <= 1e-5
    assert replay.rejected == {}
    assert replay.latency_p50_us > 0
    # The closing table names every horizon and the served latency.
    for horizon in ("1 s", "600 s"):
        assert horizon in text
    assert "served latency p50" in text
    # A second run reuses the store: nothing is imported twice.
    again = io.StringIO()
    from ash.config import load_experiment
    from ash.jobs.main_job import import_spy

    resolved = load_experiment(REPO / "configs" / "spy.yaml", [f"data.source.path={db}"])
    import_spy(resolved, REPO, Console(file=again, width=200))
    assert "0 table(s) imported" in again.getvalue()


# ---------------------------------------------------------------- the Python API on that run

SLICE = ("2013-10-09 14:00", "2013-10-09 14:15")  # 10:00-10:15 New York, the test day
KEYS = ["bar_ts", "symbol", "horizon_s"]


def test_evaluation_saved_the_forecasts_with_realized_returns(main_job: MainJob) -> None:
    run_dir = main_job.result.run_dir
    horizons = main_job.result.metrics["evaluation"]["horizons_s"]
    for split in ("val", "test"):
        table = pd.read_parquet(run_dir / "forecasts" / f"{split}.parquet")
        n = main_job.result.metrics["evaluation"][split]["n_samples"]
        assert len(table) == n * len(horizons)
        assert {*KEYS, "mean_bps", "p_up", "p_flat", "p_down", "q0.5", "realized_bps"} <= set(
            table.columns
        )
        assert np.allclose(table[["p_up", "p_flat", "p_down"]].sum(axis=1), 1.0, atol=1e-4)
        # p_realized is the probability of the realized bucket: its mean -log is the model's NLL
        # over the scored samples (the metrics mask only missing targets here).
        h1 = table[(table.horizon_s == horizons[0]) & (table.realized_bucket >= 0)]
        nll = main_job.result.metrics["evaluation"][split]["forecasters"]["model"]["h1"]["nll"]
        assert float(-np.log(np.maximum(h1.p_realized, 1e-12)).mean()) == pytest.approx(
            nll, rel=1e-4
        )


def test_the_docs_python_example_prints_forecasts_for_new_spy_ticks(main_job: MainJob) -> None:
    page = (REPO / "docs" / "python-api.md").read_text()
    example = re.search(r"## Forecasts for new ticks\n\n```python\n(.*?)```", page, re.S)
    assert example is not None, "docs/python-api.md lost its runnable example"
    code = re.sub(r'"experiments/runs/[^"]+"', repr(str(main_job.result.run_dir)), example[1])
    code = code.replace('"data/ash.duckdb"', repr(str(main_job.db)))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert lines[0].split()[:7] == [
        "bar_ts",
        "symbol",
        "horizon_s",
        "mean_bps",
        "p_up",
        "p_flat",
        "p_down",
    ]
    assert len(lines) == 5 and all("SPY" in line and "60.0" in line for line in lines[1:4])
    assert float(lines[4].rsplit(":", 1)[1]) <= 1e-5


def test_api_forecasts_equal_ash_replay_forecasts(main_job: MainJob, tmp_path: Path) -> None:
    import ash

    run_dir = main_job.result.run_dir
    out = tmp_path / "served.parquet"
    cli = CliRunner().invoke(
        app,
        [
            "replay",
            str(run_dir),
            "--db",
            str(main_job.db),
            "--symbols",
            "SPY",
            "--start",
            SLICE[0],
            "--end",
            SLICE[1],
            "--out",
            str(out),
        ],
    )
    assert cli.exit_code == 0, cli.output
    assert "Rust equals Python" in cli.output and "latency p99" in cli.output
    served = pd.read_parquet(out)
    trades, quotes = ash.read_ticks(main_job.db, "SPY", *SLICE)
    for forecaster in (ash.load_run(run_dir), ash.load_model(run_dir)):
        mine = forecaster.predict(trades, quotes, symbol="SPY")
        joined = mine.merge(served, on=KEYS, suffixes=("", "_rust"))
        # Every served forecast has its twin; the API also predicts on empty (forward-filled)
        # bars that ash-serve finishes together with the next one and predicts only on the newest.
        assert len(joined) == len(served) > 0 and len(mine) >= len(served)
        for column in ("p_up", "p_flat", "p_down"):
            assert np.abs(joined[column] - joined[f"{column}_rust"]).max() <= 1e-5
        assert np.abs(joined["mean_bps"] - joined["mean_bps_rust"]).max() <= 1e-4


def test_a_run_evaluates_on_chosen_dates(main_job: MainJob) -> None:
    import ash

    scored = ash.load_run(main_job.result.run_dir).evaluate(
        "2013-10-09", "2013-10-10", max_samples=500
    )
    horizons = main_job.result.metrics["evaluation"]["horizons_s"]
    # The baselines come fitted on the run's training span, so the paired differences are there.
    forecasters = {"model", "model_uncalibrated", "climatology", "ewma_gaussian"}
    assert set(scored.metrics.forecaster) == forecasters | {"ewma_gaussian_lattice"}
    assert len(scored.metrics) == 5 * len(horizons)
    assert np.isfinite(scored.metrics.nll).all()
    model = scored.metrics[scored.metrics.forecaster == "model"].set_index("horizon_s")
    clim = scored.metrics[scored.metrics.forecaster == "climatology"].set_index("horizon_s")
    assert np.allclose(model.nll - clim.nll, model.nll_minus_climatology, atol=1e-6)
    assert (model.nll_minus_climatology_se > 0).all()
    assert len(scored.forecasts) == 500 * len(horizons)
    assert scored.forecasts.bar_ts.dt.date.astype(str).eq("2013-10-09").all()
