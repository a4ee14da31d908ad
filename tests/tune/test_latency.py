"""Latency on the serving path: Rust bench output, runtime choice, real exported candidates."""

from __future__ import annotations

import copy
import stat
from pathlib import Path

import optuna
import pytest

from ash.config.schema import LatencyBudget
from ash.export.contract import (
    KEY_BAR_COLUMNS_VERSION,
    KEY_GAP_POLICY,
    KEY_GAP_SECONDS,
    KEY_REFERENCE_PRICE,
    KEY_TIMEZONE,
)
from ash.export.toy import ToyContractModel
from ash.runtime import ServeError, find_serve_binary, parse_bench_table
from ash.tune.latency import LatencyMeasurementError, choose_runtime, measure_candidate
from ash.tune.objective import STATE_ATTR, STATE_LATENCY
from ash.tune.runner import TuneOptions, run_tune
from tests.tune.conftest import BASE, FakeTrainer, write_experiment

META = {
    KEY_BAR_COLUMNS_VERSION: 1,
    KEY_REFERENCE_PRICE: "mid",
    KEY_TIMEZONE: "America/New_York",
    KEY_GAP_SECONDS: 300.0,
    KEY_GAP_POLICY: "reset",
}

BENCH_OUTPUT = """ash-serve bench: 300 iterations, 2 ticks, 1 intra-op thread(s), Cpu

| model | update ns/tick | predict p50 µs | predict p99 µs | bare run p50 µs | bare run p99 µs |
|---|---:|---:|---:|---:|---:|
| candidate.onnx | 371.0 | 68.2 | 250.5 | 67.8 | 120.0 |

| model | 1 symbols |
|---|---:|
| candidate.onnx | 14899 |
"""


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_bench_table_is_read_in_milliseconds() -> None:
    assert parse_bench_table(BENCH_OUTPUT) == pytest.approx({"p50_ms": 0.0682, "p99_ms": 0.2505})
    with pytest.raises(ServeError, match="no predict p99 column"):
        parse_bench_table("| model | x |\n|---|---|\n| a | 1 |")


def test_rust_requested_but_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASH_SERVE_BIN", str(tmp_path / "missing"))
    with pytest.raises(ServeError, match=r"ASH_SERVE_BIN=.*missing is not a file"):
        find_serve_binary()
    old = _script(tmp_path / "ash-serve", "echo 'ash-serve: serve only'\n")
    monkeypatch.setenv("ASH_SERVE_BIN", str(old))
    with pytest.raises(LatencyMeasurementError, match="no ash-serve with a `bench`"):
        choose_runtime("rust")
    assert choose_runtime("auto") == ("onnxruntime", None)  # clearly labelled fallback


def test_rust_bench_is_batch_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _script(tmp_path / "ash-serve", "echo '  ash-serve bench MODEL.onnx...'\n")
    monkeypatch.setenv("ASH_SERVE_BIN", str(fake))
    assert choose_runtime("rust", batch=1) == ("rust", fake)
    with pytest.raises(LatencyMeasurementError, match="batch 1 only"):
        choose_runtime("rust", batch=8)
    assert choose_runtime("auto", batch=8) == ("onnxruntime", None)


def test_rust_path_runs_the_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = BENCH_OUTPUT.replace("\n", "\\n")
    fake = _script(
        tmp_path / "ash-serve",
        f'case "$1" in --help) echo "ash-serve bench MODEL";; bench) printf "{table}";; esac\n',
    )
    monkeypatch.setenv("ASH_SERVE_BIN", str(fake))
    result = measure_candidate(
        ToyContractModel(), META, tmp_path / "c.onnx", LatencyBudget(measure_on="rust"), iters=10
    )
    assert (result.runtime, result.p99_ms) == ("rust", pytest.approx(0.2505))
    assert (tmp_path / "c.onnx").is_file()


@pytest.mark.parametrize("measure_on", ["onnxruntime", "auto"])
def test_real_measurement_of_an_exported_model(tmp_path: Path, measure_on: str) -> None:
    budget = LatencyBudget(measure_on=measure_on)  # type: ignore[arg-type]
    result = measure_candidate(ToyContractModel(), META, tmp_path / "c.onnx", budget, iters=50)
    assert 0 < result.p50_ms <= result.p99_ms
    assert result.runtime in ("rust", "onnxruntime")
    if measure_on == "onnxruntime" or find_serve_binary() is None:
        assert result.runtime == "onnxruntime"
    assert result.as_attrs()["latency_runtime"] == result.runtime


TINY = {"model.steps": 8, "model.backbone.d_model": 8}
# p50 ~40 ms on the development box (Rust, one thread), 8x the budget; TINY ~0.1 ms.
HUGE = {"model.steps": 320, "model.backbone.d_model": 512}
BUDGET_MS = 5.0


def test_latency_first_with_real_candidates(tmp_path: Path) -> None:
    """Real build + export + timing; over-budget candidates never reach the trainer."""
    data = copy.deepcopy(BASE)
    data["model"]["backbone"]["n_layers"] = 4
    data["tune"].update(
        space={
            "model.steps": {"type": "categorical", "choices": [8, 320]},
            "model.backbone.d_model": {"type": "categorical", "choices": [8, 512]},
        },
        budget={"p99_ms": BUDGET_MS, "measure_on": "auto"},
        latency_warmup=5,
        latency_iters=40,
        pruner="none",
    )
    path = write_experiment(tmp_path / "tiny.yaml", data)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    seeded = optuna.create_study(study_name="tiny", storage=url)
    for params in (TINY, HUGE, TINY):
        seeded.enqueue_trial(params)
    trainer = FakeTrainer()
    outcome = run_tune(
        path,
        TuneOptions(storage=url, trials=3, out_root=tmp_path / "tuning", worker_id="w"),
        train_fn=trainer,
    )
    trials = optuna.load_study(study_name="tiny", storage=url).get_trials()
    huge = [t for t in trials if t.params == HUGE]
    assert huge and all(t.user_attrs[STATE_ATTR] == STATE_LATENCY for t in huge)
    assert all(t.user_attrs["latency_p99_ms"] > BUDGET_MS for t in huge)
    assert all(c["d_model"] == 8 for c in trainer.calls)  # the huge one was never trained
    # The rule, judged on what was measured (a loaded machine may push TINY over too): every
    # candidate over budget is pruned before training, every one within budget is trained.
    over = [t for t in trials if t.user_attrs["latency_p99_ms"] > BUDGET_MS]
    assert all(t.user_attrs[STATE_ATTR] == STATE_LATENCY for t in over)
    completed = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(completed) == len(trials) - len(over)
    for t in completed:
        assert t.user_attrs["latency_p99_ms"] <= BUDGET_MS
    assert outcome.summary.pruned_latency == len(over)
    assert outcome.summary.completed == len(completed) == len(trainer.calls)
    runtime = trials[0].user_attrs["latency_runtime"]
    assert f"measured on: {runtime}" in (outcome.out_dir / "report.md").read_text()
    assert not list((outcome.out_dir / "trials").glob("*/candidate.onnx"))  # not kept
