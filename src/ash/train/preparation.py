"""What a training run needs before its first step: the run folder, data-dependent fits, the
loss, and the module a step calls (split out of :mod:`ash.train.trainer`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ash import runs
from ash.checkpoint import CheckpointError
from ash.config.resolve import ResolvedExperiment
from ash.data.windows import gather_windows
from ash.feature_cache import WindowSource
from ash.interfaces import Loss
from ash.model import AshModel
from ash.pipeline import PreparedData
from ash.train import distributed as ddp

NORMALIZATION_WINDOWS = 4096  # training windows pooled to fit feature normalization


class LogitsAndEdges(nn.Module):
    """DDP only syncs gradients through ``forward``; route ``logits`` + ``edges`` through it."""

    def __init__(self, model: AshModel, source: WindowSource) -> None:
        super().__init__()
        self.model = model
        self.source = source

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.model.combine(*self.source.logit_parts(self.model, *inputs))
        return logits, self.source.edges(self.model, *inputs)


def make_loss(resolved: ResolvedExperiment, n_horizons: int, n_buckets: int) -> Loss[Any]:
    spec = resolved.component("loss")
    return spec.component_class(Loss)(spec.config, n_horizons, n_buckets)


def fit_data_dependent(model: AshModel, prepared: PreparedData, seed: int) -> None:
    """Discretizer edges and feature normalization from the training split only."""
    train = prepared.samples.train
    model.discretizer.fit(prepared.returns_bps[train])
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(train), min(len(train), NORMALIZATION_WINDOWS), replace=False))
    windows = gather_windows(prepared.bars.values.astype(np.float32), train[pick], model.window)
    model.fit_normalization(windows, returns_bps=prepared.returns_bps[train[pick]])


def run_dir_for(
    experiment: str, run_dir: Path | None, resume: bool, ctx: ddp.DistContext
) -> tuple[Path, bool]:
    """The run folder (made on the main process, shared with the others) and whether this call
    made a new one (removed again if training never starts)."""
    if resume:
        if run_dir is None:
            raise ValueError("resume=True needs the run_dir of the interrupted run")
        if not (Path(run_dir) / runs.CHECKPOINTS / runs.LAST).is_file():
            raise CheckpointError(
                f"cannot resume: {Path(run_dir) / runs.CHECKPOINTS / runs.LAST} does not "
                "exist (the run never reached its first checkpoint; start it again)"
            )
        return Path(run_dir), False
    made_new = False
    if ctx.is_main:
        if run_dir is None:
            made = runs.new_run_dir(experiment)
            made_new = True
        else:
            made = Path(run_dir)
            (made / runs.CHECKPOINTS).mkdir(parents=True, exist_ok=True)
            (made / runs.PLOTS).mkdir(parents=True, exist_ok=True)
        name = str(made)
    else:
        name = ""
    return Path(str(ddp.broadcast_object(ctx, name))), made_new
