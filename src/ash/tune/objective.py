"""One trial: sample a config, measure the untrained candidate's latency, then (maybe) train.

Order matters: the latency check runs before any data is loaded or any step trained, so an
over-budget candidate costs one export and a few hundred inference calls. Its trial is pruned
with ``ash.state = pruned-latency`` and its measured latency kept as user attributes; the
``constraint`` attribute (``p99 - budget``) lets the sampler learn where the budget lies.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, Protocol

import optuna
from torch import nn

from ash.config.errors import ConfigError
from ash.config.resolve import ResolvedExperiment, resolve
from ash.config.schema import TuneConfig
from ash.export.exporter import ExportError
from ash.export.violations import ContractViolationError
from ash.registry import Registry
from ash.train import run_training
from ash.tune.candidate import build_candidate, parameter_count
from ash.tune.latency import LatencyResult, measure_candidate
from ash.tune.space import sample_experiment
from ash.tune.study import CONSTRAINT_ATTR

log = logging.getLogger(__name__)

# Trial user attributes (what reports, dashboards and `best` read).
STATE_ATTR = "ash.state"
STATE_INVALID = "pruned-invalid"
STATE_LATENCY = "pruned-latency"
STATE_ACCURACY = "pruned-accuracy"
STATE_COMPLETE = "complete"
VALUES_ATTR = "ash.values"  # the chosen config values, decoded (JSON-able)
TRAIN_S_ATTR = "train_seconds"
EPOCHS_ATTR = "epochs_trained"
RUN_DIR_ATTR = "run_dir"
METRICS_ATTR = "val_metrics"
PARAMS_COUNT_ATTR = "n_parameters"
WORKER_ATTR = "ash.worker"  # which `ash tune` process ran the trial
INVALID_CONSTRAINT = 1.0e6  # an invalid config is "very infeasible" for the sampler


class TrainResultLike(Protocol):
    run_dir: Path
    val_metrics: dict[str, float]


class ObjectiveMetricError(KeyError):
    """The trainer's validation metrics lack the metric the study optimises."""


TrainFn = Callable[..., TrainResultLike]
BuildFn = Callable[[ResolvedExperiment], tuple[nn.Module, dict[str, Any]]]
MeasureFn = Callable[[nn.Module, Mapping[str, Any], Path, TuneConfig], LatencyResult]


def _default_train(resolved: ResolvedExperiment, **kwargs: Any) -> TrainResultLike:
    result: TrainResultLike = run_training(resolved, **kwargs)
    return result


def _default_build(resolved: ResolvedExperiment) -> tuple[nn.Module, dict[str, Any]]:
    return build_candidate(resolved)


def _default_measure(
    model: nn.Module, metadata: Mapping[str, Any], path: Path, tune: TuneConfig
) -> LatencyResult:
    return measure_candidate(
        model,
        metadata,
        path,
        tune.budget,
        warmup=tune.latency_warmup,
        iters=tune.latency_iters,
    )


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


@dataclass
class TrialObjective:
    """Callable for ``study.optimize``; collaborators are injectable for tests."""

    base_raw: dict[str, Any]
    tune: TuneConfig
    registry: Registry
    trials_dir: Path
    train_fn: TrainFn = _default_train
    build_fn: BuildFn = _default_build
    measure_fn: MeasureFn = _default_measure
    worker_id: str = "local"
    keep_onnx: bool = False
    progress: bool = False
    train_calls: list[int] = field(default_factory=list)  # trial numbers that trained

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        trial.set_user_attr(WORKER_ATTR, self.worker_id)
        raw, values = sample_experiment(trial, self.base_raw, self.tune.space, self.registry)
        trial.set_user_attr(VALUES_ATTR, _json_safe(values))
        try:
            resolved = resolve(raw, self.registry)
        except ConfigError as exc:
            # A combination the components reject (e.g. heads not dividing d_model): infeasible.
            self._invalid(trial, f"invalid config: {exc}")

        trial_dir = self.trials_dir / f"trial_{trial.number:05d}"
        try:
            latency = self._measure(trial, resolved, trial_dir)
        except (ExportError, ContractViolationError) as exc:
            # A candidate that cannot be exported under the contract can never be served.
            self._invalid(trial, f"cannot be exported: {exc}")
        over = latency.p99_ms - self.tune.budget.p99_ms
        trial.set_user_attr(CONSTRAINT_ATTR, [over])
        if over > 0:
            trial.set_user_attr(STATE_ATTR, STATE_LATENCY)
            raise optuna.TrialPruned(
                f"p99 {latency.p99_ms:.3f} ms > budget {self.tune.budget.p99_ms:g} ms "
                f"({latency.runtime}); not trained"
            )
        metric = self._train(trial, resolved, trial_dir)
        trial.set_user_attr(STATE_ATTR, STATE_COMPLETE)
        if self.tune.multi_objective:
            return metric, latency.p99_ms
        return metric

    def _invalid(self, trial: optuna.Trial, reason: str) -> NoReturn:
        trial.set_user_attr(CONSTRAINT_ATTR, [INVALID_CONSTRAINT])
        trial.set_user_attr(STATE_ATTR, STATE_INVALID)
        trial.set_user_attr("invalid_reason", reason[:2000])
        raise optuna.TrialPruned(reason)

    def _measure(
        self, trial: optuna.Trial, resolved: ResolvedExperiment, trial_dir: Path
    ) -> LatencyResult:
        model, metadata = self.build_fn(resolved)
        trial.set_user_attr(PARAMS_COUNT_ATTR, parameter_count(model))
        onnx_path = trial_dir / "candidate.onnx"
        try:
            latency = self.measure_fn(model, metadata, onnx_path, self.tune)
        finally:
            if not self.keep_onnx and onnx_path.exists():
                onnx_path.unlink()
        for key, value in latency.as_attrs().items():
            trial.set_user_attr(key, value)
        log.info(
            "trial %d: p99 %.3f ms on %s (%d parameters)",
            trial.number,
            latency.p99_ms,
            latency.runtime,
            parameter_count(model),
        )
        return latency

    def _metric(self, metrics: Mapping[str, float]) -> float:
        name = self.tune.objective
        if name not in metrics:
            raise ObjectiveMetricError(
                f"tune.objective {name!r} is not a validation metric of this trainer; "
                f"available: {', '.join(sorted(metrics))}"
            )
        return float(metrics[name])

    def _train(self, trial: optuna.Trial, resolved: ResolvedExperiment, trial_dir: Path) -> float:
        self.train_calls.append(trial.number)
        epochs_done = 0
        report = not self.tune.multi_objective  # Optuna prunes single-objective studies only

        def on_epoch(epoch: int, val_metrics: Mapping[str, float]) -> None:
            nonlocal epochs_done
            epochs_done = epoch + 1
            trial.set_user_attr(EPOCHS_ATTR, epochs_done)
            if report:
                trial.report(self._metric(val_metrics), epoch)
                if trial.should_prune():
                    trial.set_user_attr(STATE_ATTR, STATE_ACCURACY)
                    raise optuna.TrialPruned(f"pruned by the {self.tune.pruner} pruner")

        run_dir = trial_dir / "run"
        if run_dir.exists():  # a retried trial of a dead worker: start clean
            shutil.rmtree(run_dir)
        trial.set_user_attr(RUN_DIR_ATTR, str(run_dir))
        start = time.perf_counter()
        try:
            result = self.train_fn(
                resolved, run_dir=run_dir, on_epoch=on_epoch, progress=self.progress
            )
        finally:
            trial.set_user_attr(TRAIN_S_ATTR, time.perf_counter() - start)
        metrics = {k: float(v) for k, v in result.val_metrics.items()}
        trial.set_user_attr(METRICS_ATTR, _json_safe(metrics))
        return self._metric(metrics)
