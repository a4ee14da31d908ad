"""Storage, sampler and heartbeat plumbing with a trivial objective (no models)."""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from ash.config.schema import TuneConfig
from ash.tune.report import pareto_front
from ash.tune.study import (
    StorageError,
    StudyMismatchError,
    is_journal,
    latency_constraint,
    make_pruner,
    make_sampler,
    make_storage,
    open_study,
    redact,
    worker_seed,
)

TUNE = TuneConfig.model_validate(
    {
        "space": {"x": {"type": "float", "low": 0, "high": 1}},
        "heartbeat_interval_s": 1,
        "grace_period_s": 1,
        "max_retry": 1,
    }
)


def _open(storage: optuna.storages.BaseStorage, tune: TuneConfig = TUNE) -> optuna.Study:
    return open_study(
        study_name="s",
        storage=storage,
        tune=tune,
        base_raw={"name": "x"},
        sampler=make_sampler(tune, 0, 1),
        pruner=optuna.pruners.NopPruner(),
    )


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_stale_running_trial_is_failed_and_retried(tmp_path: Path) -> None:
    storage = make_storage(f"sqlite:///{tmp_path / 's.db'}", TUNE)
    study = _open(storage)
    # A worker that died mid-trial: RUNNING, one heartbeat, then silence.
    dead = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    storage.record_heartbeat(dead._trial_id)  # type: ignore[attr-defined]
    time.sleep(2.5)  # > grace period
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    trials = study.get_trials()
    assert trials[dead.number].state == TrialState.FAIL
    retry = next(t for t in trials if t.system_attrs.get("failed_trial") == dead.number)
    assert retry.state == TrialState.COMPLETE  # the next worker ran the re-enqueued trial
    assert retry.params == trials[dead.number].params


def test_journal_storage_shares_a_study(tmp_path: Path) -> None:
    url = str(tmp_path / "study.log")
    assert is_journal(url) and is_journal("journal:/x/y") and not is_journal("sqlite:///a.db")
    first = _open(make_storage(url, TUNE))
    first.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    second = _open(make_storage(url, TUNE))
    assert len(second.get_trials()) == 2


def test_bad_storage_url_says_what_is_accepted() -> None:
    with pytest.raises(StorageError, match=r"neither a database URL.*journal file"):
        make_storage("experiments/study.db", TUNE)


def test_unreachable_database_is_a_clear_error() -> None:
    url = "postgresql+psycopg://ash:pw@127.0.0.1:1/optuna"
    with pytest.raises(StorageError, match=r"cannot open Optuna storage .*ash:\*\*\*@.*running"):
        make_storage(url, TUNE)


def test_other_directions_are_refused(tmp_path: Path) -> None:
    storage = make_storage(f"sqlite:///{tmp_path / 's.db'}", TUNE)
    _open(storage)
    multi = TUNE.model_copy(update={"multi_objective": True})
    with pytest.raises(StudyMismatchError, match="another --study-name"):
        _open(storage, multi)


def test_workers_get_different_seeds() -> None:
    assert worker_seed(0, "a") != worker_seed(0, "b")
    assert worker_seed(0, "a") == worker_seed(0, "a")


def test_constraint_reads_the_latency_attribute() -> None:
    trial = optuna.trial.create_trial(value=1.0, user_attrs={"constraint": [-0.2]})
    assert latency_constraint(trial) == (-0.2,)
    unmeasured = optuna.trial.create_trial(value=1.0)
    assert latency_constraint(unmeasured)[0] > 0  # never measured = infeasible


@pytest.mark.parametrize(
    ("pruner", "cls"),
    [
        ("median", optuna.pruners.MedianPruner),
        ("hyperband", optuna.pruners.HyperbandPruner),
        ("none", optuna.pruners.NopPruner),
    ],
)
def test_pruners(pruner: str, cls: type) -> None:
    assert isinstance(make_pruner(TUNE.model_copy(update={"pruner": pruner}), 3), cls)


@pytest.mark.parametrize("sampler", ["tpe", "random", "nsga2"])
def test_every_sampler_builds(sampler: str) -> None:
    tune = TUNE.model_copy(update={"sampler": sampler})
    assert make_sampler(tune, 1, 1) is not None


def test_pareto_front_and_redaction() -> None:
    points = [(1.0, 0.5, 0), (0.8, 0.9, 1), (1.2, 0.6, 2), (0.8, 1.0, 3)]
    assert pareto_front(points, maximize=False) == [0, 1]
    assert pareto_front(points, maximize=True) == [0, 2]
    assert redact("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"
    assert redact("sqlite:///a.db") == "sqlite:///a.db"


def test_only_the_creating_worker_enqueues_the_default(tmp_path: Path) -> None:
    """Workers that start together must not each enqueue the default configuration."""
    storage = make_storage(f"sqlite:///{tmp_path / 's.db'}", TUNE)
    baseline = ({"x": 0.5}, [])
    for _ in range(3):  # the creator, then two workers joining
        study = open_study(
            study_name="s",
            storage=storage,
            tune=TUNE,
            base_raw={"name": "x"},
            sampler=make_sampler(TUNE, 0, 1),
            pruner=optuna.pruners.NopPruner(),
            baseline=baseline,  # type: ignore[arg-type]
        )
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert len(waiting) == 1 and waiting[0].system_attrs["fixed_params"] == {"x": 0.5}
