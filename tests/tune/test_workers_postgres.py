"""Two `ash tune` worker processes share one study in a real PostgreSQL server.

Trials are split between the workers, none is duplicated or lost, and when one worker is
SIGKILLed mid-trial its RUNNING trial is failed by the heartbeat and retried by the survivor.
The best trial's YAML then validates and retrains to the trial's metric.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from ash.config import load_experiment
from tests.support.postgres import postgres_server
from tests.tune.synthetic_plugin import ensure_synthetic

REPO = Path(__file__).resolve().parents[2]
TRIALS = 6

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def experiment(tmp_path: Path) -> Path:
    data = {
        "extends": str(REPO / "configs" / "default.yaml"),
        "name": "pgstudy",
        "data": {"source": {"kind": "synthetic", "n_days": 3, "options": False}},
        "horizons": [1, 10, 60],
        "model": {
            "steps": 16,
            "features": [{"kind": "returns"}, {"kind": "realized_vol"}],
            "backbone": {"kind": "transformer", "d_model": 16, "n_layers": 1, "n_heads": 2},
        },
        "train": {
            "epochs": 1,
            "batch_size": 128,
            "max_train_samples": 2000,
            "device": "cpu",
            "threads": 1,
        },
        "tune": {
            "space": {
                "model.backbone.d_model": {"type": "categorical", "choices": [8, 16]},
                "train.lr": {"type": "float", "low": 1e-4, "high": 3e-3, "log": True},
            },
            "trials": TRIALS,
            "sampler": "random",
            "pruner": "none",
            "budget": {"p99_ms": 100.0, "measure_on": "auto"},
            "latency_warmup": 5,
            "latency_iters": 30,
            "heartbeat_interval_s": 1,
            "grace_period_s": 3,
        },
    }
    path = tmp_path / "pgstudy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def _worker(path: Path, url: str, name: str, out: Path, env: dict[str, str]) -> subprocess.Popen:  # type: ignore[type-arg]
    log = (out / f"{name}.log").open("w")
    cmd = [
        sys.executable,
        "-m",
        "tests.tune.worker",
        str(path),
        "--storage",
        url,
        "--study-name",
        "pg",
        "--out",
        str(out / "tuning"),
        "--worker-id",
        name,
        "-v",
    ]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_two_workers_share_a_study_and_survive_a_kill(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_synthetic()
    path = experiment(tmp_path)
    env = {**os.environ, "ASH_EXPERIMENTS": str(tmp_path / "exp"), "PYTHONPATH": str(REPO)}
    monkeypatch.setenv("ASH_EXPERIMENTS", env["ASH_EXPERIMENTS"])
    # Build the bar cache once, so both workers start training at once.
    from ash.pipeline import load_bar_data

    load_bar_data(load_experiment(path), tmp_path / "exp")

    a = _worker(path, pg_url, "A", tmp_path, env)
    b = _worker(path, pg_url, "B", tmp_path, env)
    try:

        def study() -> optuna.Study:
            return optuna.load_study(study_name="pg", storage=pg_url)

        def by(worker: str, state: TrialState) -> list[optuna.trial.FrozenTrial]:
            try:
                trials = study().get_trials(states=(state,))
            except KeyError:  # the study is not created yet
                return []
            return [t for t in trials if t.user_attrs.get("ash.worker") == worker]

        # Kill A in the middle of a trial, after it has finished one (so both contribute).
        _wait(
            lambda: by("A", TrialState.COMPLETE) and by("A", TrialState.RUNNING),
            400,
            "worker A to finish a trial and start another",
        )
        killed = by("A", TrialState.RUNNING)[0].number
        a.send_signal(signal.SIGKILL)
        a.wait(30)
        assert b.wait(600) == 0, (tmp_path / "B.log").read_text()[-3000:]
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)

    trials = study().get_trials()
    numbers = [t.number for t in trials]
    assert numbers == list(range(len(trials)))  # no gap: nothing lost
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) >= TRIALS
    assert {t.user_attrs["ash.worker"] for t in finished} == {"A", "B"}  # split between them
    # The killed trial failed by heartbeat and ran again, with the same parameters, on B.
    dead = trials[killed]
    assert dead.state == TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].params == dead.params and retries[0].user_attrs["ash.worker"] == "B"
    # No duplicates: apart from retries, no two trials drew the same configuration
    # (the two workers' samplers are seeded differently).
    fresh = [t for t in trials if "failed_trial" not in t.system_attrs]
    keys = [tuple(sorted(t.params.items())) for t in fresh]
    assert len(set(keys)) == len(keys)

    # The best trial as a plain experiment: validates, carries the values, retrains the same.
    best_yaml = tmp_path / "tuning" / "pg" / "best.yaml"
    resolved = load_experiment(best_yaml)
    best = min((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: t.value)
    assert resolved.experiment.tune is None
    assert resolved.experiment.train.lr == pytest.approx(best.params["train.lr"])
    from ash.train import run_training

    again = run_training(resolved, run_dir=tmp_path / "retrain", progress=False)
    assert again.val_metrics["nll"] == pytest.approx(best.value, rel=0.02)
    report = (tmp_path / "tuning" / "pg" / "report.md").read_text()
    assert "retried after a dead worker" in report
