"""The generic trainer: knows the component interfaces, never a concrete component.

AdamW, linear warm-up + cosine decay, gradient clipping, early stopping on validation NLL,
autocast on GPU, deterministic data order (a pure function of seed and epoch), atomic
checkpoints every ``checkpoint_every_steps`` steps and at every epoch end, resume mid-epoch,
DDP under torchrun, and per-horizon temperature calibration of the best weights at the end.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ash import progress, runs
from ash.checkpoint import load_checkpoint, load_weights, save_checkpoint
from ash.components.discretizers.base import bucketize
from ash.config.resolve import ResolvedExperiment
from ash.data.windows import subsample
from ash.feature_cache import window_source
from ash.interfaces import Family
from ash.model import AshModel
from ash.pipeline import load_bar_data, prepare_data
from ash.scoring import Logits, Scores, nll_metrics, nll_sums, score_windows
from ash.train import distributed as ddp
from ash.train.calibration import calibrate
from ash.train.device import select_device, select_precision
from ash.train.family_fit import fit_family
from ash.train.history import write_history
from ash.train.horizon_stopping import HorizonStopping
from ash.train.loggers import Loggers, make_loggers
from ash.train.metadata import write_run_metadata
from ash.train.preparation import LogitsAndEdges, fit_data_dependent, make_loss, run_dir_for
from ash.train.resume_state import LoopState, Optimization, restore_training_state, training_state
from ash.train.run_info import record_throughput
from ash.train.schedule import warmup_cosine
from ash.train.seeding import epoch_generator, seed_everything

EVAL_BATCH_MULTIPLE = 4


@dataclass
class TrainResult:
    run_dir: Path
    model: AshModel
    val_metrics: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """One training run; :func:`run_training` is the public entry point."""

    loop: LoopState

    def __init__(
        self,
        resolved: ResolvedExperiment,
        run_dir: Path | None,
        resume: bool,
        progress: bool,
        fold: int | None = None,
    ) -> None:
        self.resolved = resolved
        self.exp = resolved.experiment
        self.cfg = self.exp.train
        self.progress = progress
        self.fold = fold
        self.loggers = Loggers()  # train.loggers, started by setup() on the main process
        self.horizon_stopping: HorizonStopping | None = None  # per_horizon, set by setup()
        if self.cfg.threads:
            torch.set_num_threads(self.cfg.threads)
        self.ctx = ddp.setup(select_device(self.cfg.device))
        self.device = self.ctx.device
        self.amp_dtype = select_precision(self.cfg.precision, self.device)
        seed_everything(self.exp.seed)
        if self.device.type == "cuda":
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        self.run_dir, self.made_run_dir = run_dir_for(self.exp.name, run_dir, resume, self.ctx)
        self.resume = resume

    # ---------------------------------------------------------------- set-up

    @property
    def shows_progress(self) -> bool:
        return self.progress and self.ctx.is_main

    def autocast(self) -> AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def _prepare(self) -> None:
        root = runs.experiments_root()
        # Rank 0 builds (and caches) the bars first; the others then read the cache.
        if self.ctx.is_main:
            bar_data = load_bar_data(self.resolved, root)
        ddp.barrier(self.ctx)
        if not self.ctx.is_main:
            bar_data = load_bar_data(self.resolved, root)
        self.model = runs.make_model(self.resolved, bar_data.columns)
        self.prepared = prepare_data(
            self.resolved, self.model.window, root, fold=self.fold, bar_data=bar_data
        )
        self.horizons = tuple(float(h) for h in self.exp.horizons)
        self.bars = torch.as_tensor(bar_data.values, dtype=torch.float32, device=self.device)
        self.returns = torch.as_tensor(
            self.prepared.returns_bps, dtype=torch.float32, device=self.device
        )
        self.loss_fn = make_loss(self.resolved, len(self.horizons), self.model.n_buckets)
        self.val_ends = subsample(self.prepared.samples.val, self.cfg.max_val_samples)
        n_train = len(self.prepared.samples.train)
        self.n_epoch = min(n_train, self.cfg.max_train_samples or n_train)
        self.steps_per_epoch = math.ceil(self.n_epoch / self.cfg.batch_size)
        self.total_steps = self.steps_per_epoch * self.cfg.epochs

    # ---------------------------------------------------------------- state

    def _optimization(self) -> Optimization:
        return Optimization(self.optimizer, self.scheduler, self.scaler, self.horizon_stopping)

    def _write_metadata(self) -> None:
        write_run_metadata(
            self.run_dir,
            self.resolved,
            self.prepared,
            self.model,
            self.source,
            val_samples=len(self.val_ends),
            fold=self.fold,
            device=self.device,
            amp_dtype=self.amp_dtype,
            world_size=self.ctx.world,
        )

    def _save_last(self, epoch: int, batch: int) -> None:
        if self.ctx.is_main:
            save_checkpoint(
                training_state(
                    self.model,
                    self._optimization(),
                    self.loop,
                    (epoch, batch),
                    fingerprint=self.prepared.fingerprint,
                    world_size=self.ctx.world,
                ),
                self.run_dir / runs.CHECKPOINTS / runs.LAST,
            )
        ddp.barrier(self.ctx)

    # ---------------------------------------------------------------- loop

    def _train_step(self, net: nn.Module, global_idx: torch.Tensor) -> float:
        """One optimizer step; the global-batch mean loss (exact across ranks)."""
        weighted = self._optimize(net, global_idx)
        return float(ddp.all_reduce_sum(self.ctx, weighted)) / len(global_idx)

    def _optimize(self, net: nn.Module, global_idx: torch.Tensor) -> torch.Tensor:
        """Forward, backward and optimizer step on this rank's share of the batch; returns the
        loss × local samples (float64, on the device) without waiting for the device."""
        local = ddp.shard(global_idx, self.ctx)
        inputs = self.source.gather(local)
        with self.autocast():
            logits, edges = net(*inputs)
        targets = bucketize(self.returns[local], edges.float())
        mask = targets >= 0
        if self.horizon_stopping is not None:  # a frozen horizon's loss no longer counts
            mask = mask & self.horizon_stopping.loss_mask(mask.device)
        loss = self.loss_fn(logits.float(), targets.clamp(min=0), edges.float(), mask)
        # DDP averages gradients over ranks: weight each rank by its share of the global batch.
        scale = self.ctx.world * len(local) / len(global_idx)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss * scale).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            (loss * scale).backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        if self.horizon_stopping is not None:
            self.horizon_stopping.pin()
        self.scheduler.step()
        self.loop.step += 1
        weighted: torch.Tensor = loss.detach().double() * len(local)
        return weighted.reshape(1)

    def setup(self) -> nn.Module:
        """Data, fitted model, loss, optimizer and feature source, all on the training device;
        returns the module a training step calls (DDP-wrapped under torchrun)."""
        with progress.step("data preparation", show=self.shows_progress) as shown:
            self._prepare()
            shown.summary = (
                f"{len(self.bars):,} bars, {self.n_epoch:,} training windows per epoch, "
                f"{len(self.val_ends):,} validation windows"
            )
        if not self.resume:
            fit_data_dependent(self.model, self.prepared, self.exp.seed)
        # Everything the step touches moves here (the loss's class weights are a buffer).
        self.model.to(self.device)
        self.loss_fn.to(self.device)
        samples = self.prepared.samples
        self.source = window_source(
            self.model,
            self.bars,
            self.prepared.bars.segment_id,
            cache=self.cfg.feature_cache,
            ends=np.concatenate([samples.train, self.val_ends]),
        )
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay
        )
        self.scheduler = warmup_cosine(self.optimizer, self.total_steps, self.cfg.warmup_fraction)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None  # type: ignore[attr-defined]
        self.loop = LoopState()
        self.start_epoch, self.start_batch = 0, 0
        if self.cfg.early_stopping == "per_horizon":
            self.horizon_stopping = HorizonStopping(self.model, self.horizons, self.cfg.patience)
        if self.resume:
            self.loop, self.start_epoch, self.start_batch = restore_training_state(
                self.run_dir / runs.CHECKPOINTS / runs.LAST,
                self.model,
                self._optimization(),
                fingerprint=self.prepared.fingerprint,
                world_size=self.ctx.world,
            )
        elif self.ctx.is_main:
            self._write_metadata()
        if self.ctx.is_main:
            self.loggers = make_loggers(
                self.cfg.loggers, self.run_dir, self.exp.name, self.resolved.to_dict()
            )
        net: nn.Module = LogitsAndEdges(self.model, self.source)
        if self.ctx.enabled:
            net = nn.parallel.DistributedDataParallel(
                net, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        return net

    def train(self, on_epoch: Callable[[int, dict[str, float]], None] | None) -> TrainResult:
        if not self.resolved.component("model.family").component_class(Family).gradient:
            return self._fit_family(on_epoch)
        net = self.setup()
        train_ends = torch.as_tensor(self.prepared.samples.train, device=self.device)
        epoch, start_batch = self.start_epoch, self.start_batch
        while epoch < self.cfg.epochs and not self.loop.stopped:
            title = f"epoch {epoch + 1}/{self.cfg.epochs}"
            with progress.step(
                title, total=self.steps_per_epoch, done=start_batch, show=self.shows_progress
            ) as bar:
                self._run_epoch(net, train_ends, epoch, start_batch, on_epoch, bar)
            start_batch = 0
            epoch += 1
        return self._finish()

    def _fit_family(self, on_epoch: Callable[[int, dict[str, float]], None] | None) -> TrainResult:
        """A fitted family (docs/families.md): one fit on feature windows instead of epochs;
        then the same calibration and run folder as a neural run."""
        self._prepare()
        fit_data_dependent(self.model, self.prepared, self.exp.seed)
        self.model.to(self.device)
        train_ends = subsample(self.prepared.samples.train, self.cfg.max_train_samples)
        self.source = window_source(
            self.model,
            self.bars,
            self.prepared.bars.segment_id,
            cache=self.cfg.feature_cache,
            ends=np.concatenate([train_ends, self.val_ends]),
        )
        if self.ctx.is_main:
            self._write_metadata()
        batch = self.cfg.batch_size * EVAL_BATCH_MULTIPLE
        row = fit_family(self.model, self.source, self.returns, train_ends, self.val_ends, batch)
        val = self._validation_nll(batch)
        row.update({f"val_{k}": v for k, v in val.items()})
        self.loop = LoopState(history=[row], best_epoch=1)
        if on_epoch is not None:  # one "epoch": tuning's pruner sees the fitted family's NLL
            on_epoch(0, val)
        if self.ctx.is_main:
            save_checkpoint(
                {"model": self.model.state_dict(), "epoch": 1},
                self.run_dir / runs.CHECKPOINTS / runs.BEST,
            )
        return self._finish()

    def _run_epoch(
        self,
        net: nn.Module,
        train_ends: torch.Tensor,
        epoch: int,
        start_batch: int,
        on_epoch: Callable[[int, dict[str, float]], None] | None,
        bar: progress.Step,
    ) -> None:
        order = torch.randperm(len(train_ends), generator=epoch_generator(self.exp.seed, epoch))
        order = order[: self.n_epoch].to(self.device)
        bs = self.cfg.batch_size
        if start_batch == 0:
            self.loop.epoch_loss_sum, self.loop.epoch_loss_count = 0.0, 0
        started, n_samples = time.perf_counter(), 0
        for batch in range(start_batch, self.steps_per_epoch):
            self.model.train()
            global_idx = train_ends[order[batch * bs : (batch + 1) * bs]]
            if len(global_idx) < self.ctx.world:
                continue  # a tail batch too small to give every rank a sample
            loss = self._train_step(net, global_idx)
            n_samples += len(global_idx)
            self.loop.epoch_loss_sum += loss
            self.loop.epoch_loss_count += 1
            bar.advance(detail=f"loss {loss:.4f}  lr {self.scheduler.get_last_lr()[0]:.2e}")
            if self.loop.step % self.cfg.checkpoint_every_steps == 0:
                self._save_last(epoch, batch + 1)
        bar.detail("validation")
        seconds = time.perf_counter() - started  # the float() of each step's loss synchronizes
        val = self._validation_nll(bs * EVAL_BATCH_MULTIPLE)
        row: dict[str, Any] = {
            "epoch": epoch + 1,
            "step": self.loop.step,
            "lr": float(self.scheduler.get_last_lr()[0]),
            "train_loss": self.loop.epoch_loss_sum / max(1, self.loop.epoch_loss_count),
            "samples_per_s": n_samples / seconds if n_samples else float("nan"),
            **{f"val_{k}": v for k, v in val.items()},
        }
        self.loop.history.append(row)
        stopping = self.horizon_stopping
        improved, note = self.loop.record_epoch(epoch + 1, val, row, self.cfg.patience, stopping)
        if improved and self.ctx.is_main:  # best before last: a resume re-derives the same best
            state = (
                self.model.state_dict()
                if stopping is None
                else stopping.composite_state(self.model)
            )
            save_checkpoint(
                {"model": state, "epoch": epoch + 1, "val": val},
                self.run_dir / runs.CHECKPOINTS / runs.BEST,
            )
        bar.summary = f"train {row['train_loss']:.4f}  val nll {val['nll']:.4f}{note}"
        self._save_last(epoch + 1, 0)
        if self.ctx.is_main:
            write_history(self.run_dir, self.loop.history)
            record_throughput(self.run_dir, self.loop.history)
            self.loggers.log_epoch(epoch + 1, row)
        if on_epoch is not None:
            on_epoch(epoch, val)

    def _validation_nll(self, batch_size: int) -> dict[str, float]:
        """Validation NLL with every rank scoring a slice; sums are all-reduced in float64."""
        ctx = self.ctx
        scores = self._scores(
            self.val_ends[ctx.rank :: ctx.world] if ctx.enabled else self.val_ends, batch_size
        )
        assert scores.logits is not None
        sums = nll_sums(scores.logits, scores.targets, scores.mask)
        sums = ddp.all_reduce_sum(ctx, sums.to(self.bars.device)).cpu()
        return nll_metrics(sums, self.horizons)

    def _scores(self, ends: np.ndarray, batch_size: int, logits: Logits = "calibrated") -> Scores:
        return score_windows(
            self.model,
            self.bars,
            self.returns,
            ends,
            batch_size=batch_size,
            autocast=self.autocast,
            logits=logits,
            source=self.source,
        )

    def _finish(self) -> TrainResult:
        best_path = self.run_dir / runs.CHECKPOINTS / runs.BEST
        best = load_checkpoint(best_path, self.device)
        load_weights(self.model, best.get("model"), best_path)
        with progress.step("calibration", show=self.shows_progress) as shown:
            batch = self.cfg.batch_size * EVAL_BATCH_MULTIPLE
            scores = self._scores(self.val_ends, batch, logits="parts")
            val_metrics = calibrate(self.model, scores, self.horizons)
            temperatures = self.model.temperature.tolist()
            shown.summary = "temperature per horizon " + ", ".join(
                f"{s:g} s {t:.3f}" for s, t in zip(self.horizons, temperatures, strict=True)
            )
        val_metrics["best_epoch"] = float(self.loop.best_epoch)
        if self.horizon_stopping is not None:
            val_metrics.update(self.horizon_stopping.summary())
        for seconds, t in zip(self.horizons, temperatures, strict=True):
            val_metrics[f"temperature_h{seconds:g}"] = float(t)
        self.model.cpu().eval()
        if self.ctx.is_main:
            save_checkpoint(
                {"model": self.model.state_dict(), "val": val_metrics},
                self.run_dir / runs.CHECKPOINTS / runs.FINAL,
            )
            runs.write_json(self.run_dir / runs.METRICS_FILE, {"val": val_metrics})
            write_history(self.run_dir, self.loop.history)
            self.loggers.log_final(val_metrics)
        ddp.barrier(self.ctx)
        return TrainResult(self.run_dir, self.model, val_metrics, list(self.loop.history))


def run_training(
    resolved: ResolvedExperiment,
    *,
    run_dir: Path | None = None,
    resume: bool = False,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train the experiment's model; see the module docstring. ``on_epoch(epoch, val_metrics)``
    runs after each epoch's validation and checkpoint; an exception it raises (e.g.
    ``optuna.TrialPruned``) propagates with the run folder left consistent and resumable."""
    return train_fold(
        resolved, run_dir=run_dir, resume=resume, on_epoch=on_epoch, progress=progress
    )


def train_fold(
    resolved: ResolvedExperiment,
    *,
    run_dir: Path | None = None,
    resume: bool = False,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    progress: bool = True,
    fold: int | None = None,
) -> TrainResult:
    """:func:`run_training` on walk-forward fold ``fold`` (None: the experiment's single split)."""
    trainer = Trainer(resolved, run_dir, resume, progress, fold)
    try:
        return trainer.train(on_epoch)
    except BaseException:
        trainer.loggers.close(failed=True)
        # A run that never reached its first checkpoint cannot be resumed: leave no empty folder.
        never_started = not (trainer.run_dir / runs.CHECKPOINTS / runs.LAST).exists()
        if trainer.made_run_dir and never_started:
            shutil.rmtree(trainer.run_dir, ignore_errors=True)
        raise
    finally:
        trainer.loggers.close()
        ddp.teardown(trainer.ctx)
