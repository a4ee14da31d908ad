"""The main job end to end on the embedded default, with a tiny model so it runs in CI:
bundled SPY days -> DuckDB -> bars -> train -> evaluate -> export -> ash-serve replay of real
test-span ticks, whose bars and probabilities must equal Python's."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from ash.jobs.main_job import run_main_job, shared_data_dir
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


def test_main_job_on_spy_with_a_tiny_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        serve_binary()
        shared_data_dir(REPO)
    except (ServeError, FileNotFoundError) as exc:  # set-up builds both; say why if not
        pytest.fail(f"the main job needs the Rust binary and the sample data: {exc}")
    monkeypatch.setenv("ASH_EXPERIMENTS", str(tmp_path / "experiments"))
    db = tmp_path / "ash.duckdb"
    out = io.StringIO()
    console = Console(file=out, width=200)
    result = run_main_job(
        REPO / "configs" / "spy.yaml", REPO, console, [f"data.source.path={db}", *TINY]
    )
    text = out.getvalue()
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
