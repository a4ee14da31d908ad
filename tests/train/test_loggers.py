"""Experiment tracking with the real libraries: a tiny run mirrors each epoch's history row and
the final metrics to an MLflow file store and to TensorBoard event files, and the values are
exactly the run folder's (its source of truth)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ash.config import ConfigError
from ash.train import run_training
from ash.train.loggers import TENSORBOARD_DIR
from tests.train.helpers import tiny_experiment


def test_loggers_are_off_by_default_and_named_once() -> None:
    assert tiny_experiment().experiment.train.loggers == []
    with pytest.raises(ConfigError, match="each logger at most once"):
        tiny_experiment(loggers=["tensorboard", "tensorboard"])
    with pytest.raises(ConfigError, match=r"train\.loggers"):
        tiny_experiment(loggers=["wandb"])


@pytest.mark.slow
def test_mlflow_and_tensorboard_receive_the_run_folders_metrics(
    ash_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    store = f"file://{tmp_path / 'mlruns'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 asks to opt in to files
    resolved = tiny_experiment(epochs=2, loggers=["mlflow", "tensorboard"])
    result = run_training(resolved, run_dir=tmp_path / "run", progress=False)
    history = result.history
    assert len(history) == 2

    client = MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("tiny")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.tags["ash.run_dir"] == str((tmp_path / "run").resolve())
    assert run.data.params["train.epochs"] == "2"
    logged = client.get_metric_history(run.info.run_id, "val_nll")
    assert [(m.step, m.value) for m in logged] == [(r["epoch"], r["val_nll"]) for r in history]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())["val"]
    assert run.data.metrics["final_nll_h5"] == pytest.approx(metrics["nll_h5"], rel=1e-12)

    events = EventAccumulator(str(tmp_path / "run" / TENSORBOARD_DIR))
    events.Reload()
    train_loss = [(e.step, e.value) for e in events.Scalars("train_loss")]
    expected = [(r["epoch"], pytest.approx(r["train_loss"], rel=1e-6)) for r in history]
    assert train_loss == expected
    assert "final/nll_h5" in events.Tags()["scalars"]


def test_mlflow_logger_keeps_finite_numbers_and_marks_a_failed_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    from ash.train.loggers import Loggers, MlflowLogger

    store = f"file://{tmp_path / 'mlruns'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    logger = MlflowLogger(tmp_path / "run", "unit", {"train": {"epochs": 3}, "name": "unit"})
    loggers = Loggers([logger])
    loggers.log_epoch(1, {"val_nll": 2.5, "samples_per_s": float("nan"), "ok": True})
    loggers.close(failed=True)
    loggers.close()  # a second close is harmless
    run = MlflowClient(tracking_uri=store).get_run(logger.run_id)
    assert run.info.status == "FAILED"
    assert run.data.params == {"train.epochs": "3", "name": "unit"}
    assert run.data.metrics == {"val_nll": 2.5}  # NaN and booleans are not metrics
