"""Study plumbing: storage (SQLite / PostgreSQL / journal file), sampler, pruner, create-or-resume.

Distribution is Optuna's own: every ``ash tune`` worker opens the same study (same storage URL,
same study name, ``load_if_exists``) and asks the storage for its next trial, so trials are
split without any coordinator. RDB storages (SQLite, PostgreSQL, MySQL) run a heartbeat thread
per trial: a worker that dies leaves a RUNNING trial whose heartbeat stops; the next worker to
start a trial fails it and re-enqueues its parameters (``RetryHeartbeatStaleTrialCallback``).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import FrozenTrial, TrialState

from ash.config.schema import TuneConfig

log = logging.getLogger(__name__)

DEFAULT_TUNING_DIR = Path("experiments/tuning")
JOURNAL_SUFFIXES = (".log", ".journal", ".jsonl")

# Study-level user attributes: what a worker, a report or `best` needs without the YAML file.
ATTR_SPACE = "ash.space"
ATTR_BASE = "ash.base_experiment"
ATTR_OBJECTIVE = "ash.objective"
ATTR_BUDGET = "ash.budget"
ATTR_BASELINE_OUTSIDE = "ash.baseline_outside"  # space paths the default config lies outside
BASELINE_ATTR = "ash.baseline"  # trial attribute: this trial is the unmodified default config

# Trial user attributes written by the objective.
CONSTRAINT_ATTR = "constraint"  # [p99_ms - budget]; <= 0 is feasible


class StorageError(ValueError):
    """The storage URL is malformed or its database cannot be reached."""


class StudyMismatchError(ValueError):
    """An existing study was created for a different search (space, objective or directions)."""


def redact(url: str) -> str:
    """Hide a password in a database URL before printing or writing it."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


def default_storage_url(study_name: str, root: Path = DEFAULT_TUNING_DIR) -> str:
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(root / f'{study_name}.db').resolve()}"


def is_journal(url: str) -> bool:
    return url.startswith("journal:") or ("://" not in url and url.endswith(JOURNAL_SUFFIXES))


def _retry_callback(max_retry: int) -> Callable[[optuna.Study, FrozenTrial], None]:
    # Optuna 4.9 renamed RetryFailedTrialCallback; use whichever this installation has.
    cls = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    if cls is None:
        cls = optuna.storages.RetryFailedTrialCallback
    callback: Callable[[optuna.Study, FrozenTrial], None] = cls(max_retry=max_retry)
    return callback


# Optuna 4.9 renamed the argument; older 4.x only know `failed_trial_callback`.
_STALE_CALLBACK_ARG = (
    "heartbeat_stale_trial_callback"
    if "heartbeat_stale_trial_callback" in inspect.signature(RDBStorage.__init__).parameters
    else "failed_trial_callback"
)


def make_storage(url: str, tune: TuneConfig) -> BaseStorage:
    """An Optuna storage for ``url``: an RDB URL (heartbeat on) or a journal file path."""
    if is_journal(url):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        path = Path(url.removeprefix("journal:"))
        path.parent.mkdir(parents=True, exist_ok=True)
        log.warning(
            "journal storage %s has no heartbeat: trials of a killed worker stay RUNNING "
            "(use an RDB URL such as postgresql:// to fail and retry them)",
            path,
        )
        return JournalStorage(JournalFileBackend(str(path)))
    if "://" not in url:
        raise StorageError(
            f"storage {url!r} is neither a database URL (sqlite:///file.db, "
            "postgresql://user@host/db) nor a journal file (*.log, *.journal, journal:PATH)"
        )
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        # Several local workers share the file: wait for the lock instead of failing at once.
        engine_kwargs["connect_args"] = {"timeout": 60}
    grace = tune.grace_period_s or 2 * tune.heartbeat_interval_s
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", FutureWarning)
        callback: dict[str, Any] = {_STALE_CALLBACK_ARG: _retry_callback(tune.max_retry)}
        try:
            return RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=tune.heartbeat_interval_s,
                grace_period=grace,
                **callback,
            )
        except (OperationalError, ArgumentError, NoSuchModuleError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise StorageError(
                f"cannot open Optuna storage {redact(url)}: {reason}; check the URL, that the "
                "database server is running and reachable, and the credentials"
            ) from exc


def worker_seed(seed: int, worker_id: str) -> int:
    """Different workers must not draw the same random start-up points from the same seed."""
    digest = hashlib.sha256(f"{seed}:{worker_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def latency_constraint(trial: FrozenTrial) -> Sequence[float]:
    """Feasibility for the sampler: ``p99 - budget`` (<= 0 feasible); unmeasured = infeasible."""
    value = trial.user_attrs.get(CONSTRAINT_ATTR)
    if value is None:
        return (1.0e6,)
    return tuple(float(v) for v in value)


def make_sampler(tune: TuneConfig, seed: int, n_objectives: int) -> optuna.samplers.BaseSampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if tune.sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if tune.sampler == "nsga2":
            population = max(4, min(50, tune.trials // 4))
            return optuna.samplers.NSGAIISampler(
                seed=seed, population_size=population, constraints_func=latency_constraint
            )
        startup = max(3, min(10, tune.trials // 4))
        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=startup,
            multivariate=True,
            group=True,
            constraints_func=latency_constraint,
        )


def make_pruner(tune: TuneConfig, max_epochs: int) -> optuna.pruners.BasePruner:
    if tune.pruner == "none":
        return optuna.pruners.NopPruner()
    if tune.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, max_epochs))
    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)


def directions_for(tune: TuneConfig) -> list[str]:
    return [tune.direction, "minimize"] if tune.multi_objective else [tune.direction]


def _search_signature(tune: TuneConfig) -> dict[str, Any]:
    return {
        ATTR_SPACE: {k: v.model_dump(mode="json") for k, v in sorted(tune.space.items())},
        ATTR_OBJECTIVE: tune.objective,
        ATTR_BUDGET: tune.budget.model_dump(mode="json"),
    }


def open_study(
    *,
    study_name: str,
    storage: BaseStorage,
    tune: TuneConfig,
    base_raw: dict[str, Any],
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
    baseline: tuple[dict[str, Any], list[str]] | None = None,
) -> optuna.Study:
    """Create the study, or load it (resume / join) after checking it searches the same thing.

    Exactly one worker creates a study (the storage's unique study name decides), and only that
    worker records the search signature and enqueues the default configuration (``baseline``:
    its parameters and the paths it cannot express) as the first trial, so the report can
    compare against it. Workers that join never enqueue it again.
    """
    directions = directions_for(tune)
    try:
        study = optuna.create_study(
            study_name=study_name,
            storage=storage,
            sampler=sampler,
            pruner=pruner,
            directions=directions,
        )
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(
            study_name=study_name, storage=storage, sampler=sampler, pruner=pruner
        )
        created = False
    if [d.name.lower() for d in study.directions] != directions:
        raise StudyMismatchError(
            f"study {study_name!r} optimises {[d.name.lower() for d in study.directions]}, "
            f"this experiment asks for {directions}; choose another --study-name"
        )
    signature = _search_signature(tune)
    if created:
        for key, value in signature.items():
            study.set_user_attr(key, value)
        study.set_user_attr(ATTR_BASE, base_raw)
        if baseline is not None:
            params, outside = baseline
            study.set_user_attr(ATTR_BASELINE_OUTSIDE, outside)
            if not outside:
                study.enqueue_trial(params, user_attrs={BASELINE_ATTR: True})
        return study
    stored = study.user_attrs
    for key, value in signature.items():
        # Absent only while the creating worker is still writing it: nothing to compare yet.
        if key in stored and json.dumps(stored[key], sort_keys=True) != json.dumps(
            value, sort_keys=True
        ):
            raise StudyMismatchError(
                f"study {study_name!r} was created with a different {key.split('.')[-1]} "
                f"({stored[key]!r}, now {value!r}); resume it with the same tune block "
                "or choose another --study-name"
            )
    return study


def finished_count(study: optuna.Study) -> int:
    states = (TrialState.COMPLETE, TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))
