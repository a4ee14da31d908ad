"""The study loop with a fake trainer and a deterministic fake latency (no data, no timing)."""

from __future__ import annotations

import copy
from pathlib import Path

import optuna
import pytest
import yaml

from ash.config import load_experiment
from ash.tune.best import NoCompletedTrialError, best_trial
from ash.tune.objective import STATE_ATTR, STATE_LATENCY, ObjectiveMetricError
from ash.tune.runner import TuneOptions, run_tune
from ash.tune.study import CONSTRAINT_ATTR
from tests.tune.conftest import BASE, FakeTrainer, fake_latency, write_experiment


def _run(path: Path, tmp_path: Path, trainer: FakeTrainer, **kw):  # type: ignore[no-untyped-def]
    options = TuneOptions(out_root=tmp_path / "tuning", worker_id="w0", **kw)
    return run_tune(path, options, train_fn=trainer, measure_fn=fake_latency())


def test_latency_first_prunes_before_training(experiment_file: Path, tmp_path: Path) -> None:
    trainer = FakeTrainer()
    outcome = _run(experiment_file, tmp_path, trainer, trials=12)
    study = optuna.load_study(study_name="tiny", storage=outcome.storage_url)
    trials = study.get_trials()
    assert len([t for t in trials if t.state.is_finished()]) >= 12
    over = [t for t in trials if t.user_attrs.get(STATE_ATTR) == STATE_LATENCY]
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert over, "the space reaches d_model 64 = 2 ms > 1 ms budget: some must be pruned"
    assert done
    trained_d = sorted(c["d_model"] for c in trainer.calls)
    for t in over:  # zero training: never handed to the trainer, no run folder
        assert t.user_attrs["latency_p99_ms"] > 1.0
        assert t.user_attrs[CONSTRAINT_ATTR][0] > 0
        assert "run_dir" not in t.user_attrs
        assert not (outcome.out_dir / "trials" / f"trial_{t.number:05d}" / "run").exists()
    assert all(d <= 32 for d in trained_d)
    accuracy = [t for t in trials if t.user_attrs.get(STATE_ATTR) == "pruned-accuracy"]
    assert len(trainer.calls) == len(done) + len(accuracy)
    for t in done:
        assert t.user_attrs["latency_p99_ms"] <= 1.0
        assert t.intermediate_values  # reported per epoch
    s = outcome.summary
    assert (s.completed, s.pruned_latency) == (len(done), len(over))
    assert s.saved_s == pytest.approx(len(over) * s.mean_train_s)
    report = (outcome.out_dir / "report.md").read_text()
    assert f"| {s.n_trials} | {s.completed} | {s.pruned_latency} |" in report
    assert "saved by latency-first pruning" in report
    for png in ("pareto.png", "importances.png", "history.png"):
        assert (outcome.out_dir / "plots" / png).stat().st_size > 1000


def test_best_yaml_is_plain_and_validates(experiment_file: Path, tmp_path: Path) -> None:
    outcome = _run(experiment_file, tmp_path, FakeTrainer(), trials=8)
    assert outcome.best_yaml is not None
    study = optuna.load_study(study_name="tiny", storage=outcome.storage_url)
    best = best_trial(study)
    raw = yaml.safe_load(outcome.best_yaml.read_text())
    assert "tune" not in raw and "extends" not in raw
    resolved = load_experiment(outcome.best_yaml)
    assert resolved.experiment.tune is None
    assert resolved.experiment.train.lr == pytest.approx(best.params["train.lr"])
    d_model = resolved.component("model.backbone").config.d_model  # type: ignore[attr-defined]
    assert d_model == best.params["model.backbone.d_model"]
    assert best.value == min(t.value for t in study.get_trials() if t.value is not None)


def test_resume_runs_only_what_is_left(experiment_file: Path, tmp_path: Path) -> None:
    trainer = FakeTrainer()
    first = _run(experiment_file, tmp_path, trainer, trials=4)
    assert first.summary.n_trials == 4
    second = _run(experiment_file, tmp_path, trainer, trials=7)
    study = optuna.load_study(study_name="tiny", storage=second.storage_url)
    numbers = [t.number for t in study.get_trials()]
    assert numbers == list(range(7))
    third = _run(experiment_file, tmp_path, trainer, trials=7)
    assert third.ran_here == []  # budget met: nothing to do


def test_resume_with_another_space_is_refused(experiment_file: Path, tmp_path: Path) -> None:
    from ash.tune.study import StudyMismatchError

    _run(experiment_file, tmp_path, FakeTrainer(), trials=2)
    with pytest.raises(StudyMismatchError, match="different objective"):
        _run(
            experiment_file,
            tmp_path,
            FakeTrainer(),
            trials=3,
            overrides=["tune.objective=brier"],
        )


def test_multi_objective_gives_pareto_front(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["tune"]["multi_objective"] = True
    data["tune"]["sampler"] = "nsga2"
    path = write_experiment(tmp_path / "tiny.yaml", data)
    outcome = _run(path, tmp_path, FakeTrainer(), trials=8)
    study = optuna.load_study(study_name="tiny", storage=outcome.storage_url)
    assert len(study.directions) == 2
    for t in study.best_trials:
        assert t.values[1] == t.user_attrs["latency_p99_ms"] <= 1.0
    assert "Pareto front" in (outcome.out_dir / "report.md").read_text()


def test_objective_metric_missing_fails_fast(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["tune"]["objective"] = "crps"
    data["tune"]["budget"]["p99_ms"] = 100.0  # the first trial trains
    path = write_experiment(tmp_path / "tiny.yaml", data)
    with pytest.raises(ObjectiveMetricError, match=r"'crps' is not a validation metric.*nll"):
        _run(path, tmp_path, FakeTrainer(), trials=3)


def test_all_over_budget_reports_no_best(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["tune"]["budget"]["p99_ms"] = 0.01
    path = write_experiment(tmp_path / "tiny.yaml", data)
    trainer = FakeTrainer()
    outcome = _run(path, tmp_path, trainer, trials=3)
    assert trainer.calls == []
    assert outcome.best_yaml is None
    assert outcome.summary.pruned_latency == 3
    study = optuna.load_study(study_name="tiny", storage=outcome.storage_url)
    with pytest.raises(NoCompletedTrialError, match=r"loosen tune\.budget\.p99_ms"):
        best_trial(study)
    assert "No completed trial yet" in (outcome.out_dir / "report.md").read_text()


def test_default_config_is_the_first_trial_and_is_compared(
    experiment_file: Path, tmp_path: Path
) -> None:
    outcome = _run(experiment_file, tmp_path, FakeTrainer(), trials=6)
    study = optuna.load_study(study_name="tiny", storage=outcome.storage_url)
    first = study.trials[0]
    assert first.user_attrs.get("ash.baseline") is True
    assert first.params == {"model.backbone.d_model": 16, "train.lr": pytest.approx(3e-4)}
    verdict = outcome.summary.baseline
    assert verdict.startswith(("The best trial beats the default", "The default configuration"))
    assert verdict in (outcome.out_dir / "report.md").read_text()


def test_default_over_budget_is_explained(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["tune"]["budget"]["p99_ms"] = 0.4  # d_model 16 -> 0.5 ms: the default is too slow
    path = write_experiment(tmp_path / "tiny.yaml", data)
    outcome = _run(path, tmp_path, FakeTrainer(), trials=3)
    assert "is over the latency budget (p99 0.500 ms > 0.4 ms)" in outcome.summary.baseline


def test_default_outside_the_space_is_explained(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["tune"]["space"]["train.lr"] = {"type": "float", "low": 1e-3, "high": 1e-2}
    path = write_experiment(tmp_path / "tiny.yaml", data)
    outcome = _run(path, tmp_path, FakeTrainer(), trials=2)
    assert "not a point of this search space" in outcome.summary.baseline
    assert "`train.lr`" in outcome.summary.baseline


def test_invalid_combinations_and_unexportable_candidates_are_pruned(tmp_path: Path) -> None:
    from ash.export.exporter import ExportError

    data = copy.deepcopy(BASE)
    data["tune"]["space"] = {
        "model.backbone.n_heads": {"type": "categorical", "choices": [2, 3]},  # 3 ∤ d_model 16
        "train.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    }
    data["tune"]["sampler"] = "random"
    path = write_experiment(tmp_path / "tiny.yaml", data)
    outcome = _run(path, tmp_path, FakeTrainer(), trials=8)
    study = optuna.load_study(study_name="tiny", storage=outcome.storage_url)
    for t in study.trials:
        heads = t.params["model.backbone.n_heads"]
        assert (t.user_attrs["ash.state"] == "pruned-invalid") == (heads == 3)
        if heads == 3:
            assert "d_model" in t.user_attrs["invalid_reason"]
            assert t.user_attrs["constraint"][0] > 0
    assert outcome.summary.pruned_invalid == sum(
        t.params["model.backbone.n_heads"] == 3 for t in study.trials
    )

    def broken_export(*args: object) -> None:
        raise ExportError("operator Foo has no ONNX symbolic (model.backbone)")

    outcome = run_tune(
        path,
        TuneOptions(out_root=tmp_path / "t2", worker_id="w", trials=2),
        train_fn=FakeTrainer(),
        measure_fn=broken_export,  # type: ignore[arg-type]
    )
    study = optuna.load_study(study_name="tiny", storage=outcome.storage_url)
    for t in study.trials:  # every candidate is either unexportable or an invalid combination
        reason = t.user_attrs["invalid_reason"]
        expected = "divisible" if t.params["model.backbone.n_heads"] == 3 else "cannot be exported"
        assert expected in reason
    assert "operator Foo" in study.trials[0].user_attrs["invalid_reason"]  # the default: 2 heads
