"""Experiment tracking: epoch and final metrics mirrored to MLflow or TensorBoard.

Off by default; an experiment turns them on with ``train.loggers: [mlflow]`` (or
``[tensorboard]``, or both). The run folder stays the source of truth: a logger receives the
same rows that ``history.csv`` and ``metrics.json`` get, after they are written, and nothing is
ever read back from it. The libraries are optional extras (``pip install 'ash[mlflow]'``,
``'ash[tensorboard]'``) imported only when a logger is configured.

- MLflow: one MLflow run per ash run, in the MLflow experiment named like the ash experiment,
  at ``$MLFLOW_TRACKING_URI`` (MLflow's own default otherwise); tagged ``ash.run_dir``, with the
  flattened experiment config as parameters.
- TensorBoard: event files in ``RUN/tensorboard/`` (``tensorboard --logdir experiments/runs``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

TENSORBOARD_DIR = "tensorboard"


class MetricsLogger(Protocol):
    def log_epoch(self, epoch: int, metrics: Mapping[str, float]) -> None: ...
    def log_final(self, metrics: Mapping[str, float]) -> None: ...
    def close(self, failed: bool = False) -> None: ...


def _finite(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Numeric, finite values only (history rows hold the epoch number and NaN throughputs)."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            out[key] = float(value)
    return out


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)[:500]  # MLflow's limit on a parameter value
    return flat


class MlflowLogger:
    def __init__(self, run_dir: Path, experiment: str, config: Mapping[str, Any]) -> None:
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        self._client = MlflowClient()
        found = self._client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else self._client.create_experiment(experiment)
        run = self._client.create_run(
            experiment_id, run_name=run_dir.name, tags={"ash.run_dir": str(run_dir.resolve())}
        )
        self.run_id: str = run.info.run_id
        params = [Param(k, v) for k, v in _flatten(config).items()]
        for start in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            self._client.log_batch(self.run_id, params=params[start : start + 100])

    def log_epoch(self, epoch: int, metrics: Mapping[str, float]) -> None:
        for key, value in _finite(metrics).items():
            self._client.log_metric(self.run_id, key, value, step=epoch)

    def log_final(self, metrics: Mapping[str, float]) -> None:
        for key, value in _finite(metrics).items():
            self._client.log_metric(self.run_id, f"final_{key}", value)

    def close(self, failed: bool = False) -> None:
        self._client.set_terminated(self.run_id, status="FAILED" if failed else "FINISHED")


class TensorBoardLogger:
    def __init__(self, run_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(log_dir=str(run_dir / TENSORBOARD_DIR))

    def log_epoch(self, epoch: int, metrics: Mapping[str, float]) -> None:
        for key, value in _finite(metrics).items():
            self._writer.add_scalar(key, value, global_step=epoch)
        self._writer.flush()

    def log_final(self, metrics: Mapping[str, float]) -> None:
        for key, value in _finite(metrics).items():
            self._writer.add_scalar(f"final/{key}", value, global_step=0)
        self._writer.flush()

    def close(self, failed: bool = False) -> None:
        self._writer.close()


class Loggers:
    """Every configured logger behind one call per event; closing twice is harmless."""

    def __init__(self, loggers: Iterable[MetricsLogger] = ()) -> None:
        self._loggers = list(loggers)

    def log_epoch(self, epoch: int, metrics: Mapping[str, float]) -> None:
        for logger in self._loggers:
            logger.log_epoch(epoch, metrics)

    def log_final(self, metrics: Mapping[str, float]) -> None:
        for logger in self._loggers:
            logger.log_final(metrics)

    def close(self, failed: bool = False) -> None:
        """End every logger (MLflow marks a failed training's run FAILED)."""
        loggers, self._loggers = self._loggers, []
        for logger in loggers:
            logger.close(failed)


def make_loggers(
    names: Iterable[str], run_dir: Path, experiment: str, config: Mapping[str, Any]
) -> Loggers:
    """The loggers ``train.loggers`` names, started for ``run_dir``."""
    made: list[MetricsLogger] = []
    for name in names:  # the config validator checked that each library is installed
        if name == "mlflow":
            made.append(MlflowLogger(run_dir, experiment, config))
        elif name == "tensorboard":
            made.append(TensorBoardLogger(run_dir))
        else:
            raise ValueError(f"unknown logger {name!r}; choose mlflow or tensorboard")
    return Loggers(made)
