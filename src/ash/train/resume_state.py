"""The trainer's resumable state: the loop counters, what ``last.pt`` holds beyond the weights,
and how a resume reads it back and refuses a checkpoint of other data or another process count
(split out of :mod:`ash.train.trainer`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ash.checkpoint import CheckpointError, load_checkpoint, load_weights
from ash.model import AshModel
from ash.train.horizon_stopping import HorizonStopping
from ash.train.seeding import capture_rng, restore_rng


@dataclass
class LoopState:
    """Counters of the training loop (all saved in ``last.pt``)."""

    step: int = 0
    best_nll: float = math.inf
    best_epoch: int = -1
    bad_epochs: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    epoch_loss_sum: float = 0.0
    epoch_loss_count: int = 0
    stopped: bool = False

    def record_epoch(
        self,
        epoch: int,
        val: dict[str, float],
        row: dict[str, Any],
        patience: int,
        stopping: HorizonStopping | None,
    ) -> tuple[bool, str]:
        """Early stopping after epoch ``epoch`` (1-based): on the mean validation NLL, or per
        horizon with ``stopping``. Returns whether ``best.pt`` should be written now and a note
        for the epoch's summary line."""
        if stopping is None:
            improved = val["nll"] < self.best_nll
            self.bad_epochs = 0 if improved else self.bad_epochs + 1
            self.stopped = self.bad_epochs >= patience
            note = "  * best" if improved else ""
        else:
            improved, note = stopping.record(epoch, val, row)
            self.stopped = stopping.done
        if improved:
            self.best_nll, self.best_epoch = val["nll"], epoch
        return improved, note


@dataclass
class Optimization:
    """The objects whose state a resume restores besides the model."""

    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: Any  # torch.amp.GradScaler or None
    horizon_stopping: HorizonStopping | None


def training_state(
    model: AshModel,
    opt: Optimization,
    loop: LoopState,
    position: tuple[int, int],
    *,
    fingerprint: str,
    world_size: int,
) -> dict[str, Any]:
    """Everything a resume needs to continue at ``position = (epoch, batch_in_epoch)``."""
    state: dict[str, Any] = {
        "model": model.state_dict(),
        "optimizer": opt.optimizer.state_dict(),
        "scheduler": opt.scheduler.state_dict(),
        "rng": capture_rng(),
        "epoch": position[0],
        "batch_in_epoch": position[1],
        **asdict(loop),
        "data_fingerprint": fingerprint,
        "world_size": world_size,
    }
    if opt.scaler is not None:
        state["scaler"] = opt.scaler.state_dict()
    if opt.horizon_stopping is not None:
        state["horizon_stopping"] = opt.horizon_stopping.state_dict()
    return state


def restore_training_state(
    path: Path, model: AshModel, opt: Optimization, *, fingerprint: str, world_size: int
) -> tuple[LoopState, int, int]:
    """Load ``last.pt`` into ``model`` and ``opt``; returns the loop counters and the
    ``(epoch, batch_in_epoch)`` to continue at."""
    state = load_checkpoint(path)
    if state.get("data_fingerprint") != fingerprint:
        raise CheckpointError(
            f"checkpoint {path} was trained on data {state.get('data_fingerprint')}, but the "
            f"experiment now builds data {fingerprint}; resume with the run's own config.yaml"
        )
    if state.get("world_size") != world_size:
        raise CheckpointError(
            f"checkpoint {path} was written by {state.get('world_size')} processes; resume "
            f"with the same number (now {world_size}) so the data order matches"
        )
    load_weights(model, state.get("model"), path)
    opt.optimizer.load_state_dict(state["optimizer"])
    opt.scheduler.load_state_dict(state["scheduler"])
    if opt.scaler is not None and "scaler" in state:
        opt.scaler.load_state_dict(state["scaler"])
    if opt.horizon_stopping is not None:
        if "horizon_stopping" not in state:
            raise CheckpointError(
                f"checkpoint {path} was written with train.early_stopping: mean; resume with "
                "the run's own config.yaml"
            )
        opt.horizon_stopping.load_state_dict(state["horizon_stopping"])
    restore_rng(state["rng"])
    loop = LoopState(
        step=int(state["step"]),
        best_nll=float(state["best_nll"]),
        best_epoch=int(state["best_epoch"]),
        bad_epochs=int(state["bad_epochs"]),
        history=list(state["history"]),
        epoch_loss_sum=float(state["epoch_loss_sum"]),
        epoch_loss_count=int(state["epoch_loss_count"]),
        stopped=bool(state["stopped"]),
    )
    return loop, int(state["epoch"]), int(state["batch_in_epoch"])
