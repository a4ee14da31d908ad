"""``ash tune``: run (or join, or resume) a study for an experiment with a ``tune:`` block.

Every worker runs this same function against the same storage and study name. The study's
trial budget (``tune.trials``) counts finished trials (completed or pruned) over all workers:
each worker stops once the study has that many, so a resumed study only runs what is left.
"""

from __future__ import annotations

import logging
import os
import socket
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState

from ash.config.errors import ConfigError, ConfigIssue
from ash.config.loader import load_experiment_dict
from ash.config.resolve import resolve
from ash.config.schema import TuneConfig
from ash.registry import Registry, get_registry
from ash.tune.best import NoCompletedTrialError, write_best_yaml
from ash.tune.latency import choose_runtime
from ash.tune.objective import WORKER_ATTR, BuildFn, MeasureFn, TrainFn, TrialObjective
from ash.tune.report import TuneSummary, write_report
from ash.tune.space import baseline_params, check_space, incomparable_objective
from ash.tune.study import (
    DEFAULT_TUNING_DIR,
    default_storage_url,
    finished_count,
    make_pruner,
    make_sampler,
    make_storage,
    open_study,
    redact,
    worker_seed,
)

log = logging.getLogger(__name__)

BEST_YAML = "best.yaml"


@dataclass
class TuneOutcome:
    study_name: str
    storage_url: str
    out_dir: Path
    summary: TuneSummary
    best_yaml: Path | None
    trained_here: list[int] = field(default_factory=list)  # trial numbers this worker trained
    ran_here: list[int] = field(default_factory=list)  # trial numbers this worker ran


@dataclass
class TuneOptions:
    """Command-line choices that override the experiment's ``tune:`` block."""

    overrides: list[str] = field(default_factory=list)
    storage: str | None = None
    study_name: str | None = None
    trials: int | None = None
    timeout_s: float | None = None
    worker_id: str | None = None
    out_root: Path = DEFAULT_TUNING_DIR
    progress: bool = False


def _max_epochs(tune: TuneConfig, epochs: int) -> int:
    dim = tune.space.get("train.epochs")
    return int(dim.high) if dim is not None and dim.high is not None else epochs


def run_tune(
    experiment: str | Path,
    options: TuneOptions | None = None,
    *,
    registry: Registry | None = None,
    train_fn: TrainFn | None = None,
    build_fn: BuildFn | None = None,
    measure_fn: MeasureFn | None = None,
) -> TuneOutcome:
    """Load the experiment, open the study and run trials until the study's budget is met."""
    options = options or TuneOptions()
    registry = registry or get_registry()
    loaded = load_experiment_dict(experiment, options.overrides)
    base = resolve(loaded.data, registry, loaded)
    tune = base.experiment.tune
    if tune is None:
        raise ConfigError(
            [ConfigIssue("tune", "this experiment has no `tune:` block; add one (docs/tuning.md)")],
            str(experiment),
        )
    updates: dict[str, Any] = {}
    if options.trials is not None:
        updates["trials"] = options.trials
    if options.timeout_s is not None:
        updates["timeout_s"] = options.timeout_s
    tune = tune.model_copy(update=updates)
    check_space(tune.space, base.to_dict(), registry)
    bad = incomparable_objective(tune.space, tune.objective)
    if bad:
        log.warning(
            "the space changes %s: %s (NLL over buckets) is not comparable between such trials",
            ", ".join(bad),
            tune.objective,
        )
    if measure_fn is None:  # fail before the study when the requested runtime is missing
        runtime, _ = choose_runtime(tune.budget.measure_on, tune.budget.batch)
        log.info("latency measured on %s", runtime)

    study_name = options.study_name or tune.study_name or base.experiment.name
    out_dir = options.out_root / study_name
    out_dir.mkdir(parents=True, exist_ok=True)
    storage_url = (
        options.storage or tune.storage or default_storage_url(study_name, options.out_root)
    )
    worker_id = options.worker_id or f"{socket.gethostname()}-{os.getpid()}"
    storage = make_storage(storage_url, tune)
    n_objectives = 2 if tune.multi_objective else 1
    study = open_study(
        study_name=study_name,
        storage=storage,
        tune=tune,
        base_raw=loaded.data,
        sampler=make_sampler(tune, worker_seed(tune.seed, worker_id), n_objectives),
        pruner=make_pruner(tune, _max_epochs(tune, base.experiment.train.epochs)),
        baseline=baseline_params(tune.space, base.to_dict()),
    )
    objective = TrialObjective(
        base_raw=loaded.data,
        tune=tune,
        registry=registry,
        trials_dir=out_dir / "trials",
        worker_id=worker_id,
        progress=options.progress,
    )
    if train_fn is not None:
        objective.train_fn = train_fn
    if build_fn is not None:
        objective.build_fn = build_fn
    if measure_fn is not None:
        objective.measure_fn = measure_fn

    before = {t.number for t in study.get_trials(deepcopy=False)}
    if finished_count(study) < tune.trials:
        log.info("worker %s joins study %s at %s", worker_id, study_name, redact(storage_url))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.optimize(
                objective,
                timeout=tune.timeout_s,
                callbacks=[
                    MaxTrialsCallback(tune.trials, states=(TrialState.COMPLETE, TrialState.PRUNED))
                ],
            )
    ran_here = sorted(
        t.number
        for t in study.get_trials(deepcopy=False)
        if t.number not in before and t.user_attrs.get(WORKER_ATTR) == worker_id
    )
    best_yaml: Path | None = out_dir / BEST_YAML
    try:
        assert best_yaml is not None
        write_best_yaml(study, loaded.data, tune.space, best_yaml, tune.objective)
    except NoCompletedTrialError as exc:
        log.warning("%s", exc)
        best_yaml = None
    summary = write_report(study, tune, out_dir, storage_url=storage_url, best_yaml=best_yaml)
    return TuneOutcome(
        study_name=study_name,
        storage_url=storage_url,
        out_dir=out_dir,
        summary=summary,
        best_yaml=best_yaml,
        trained_here=list(objective.train_calls),
        ran_here=ran_here,
    )
