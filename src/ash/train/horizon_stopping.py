"""Early stopping per horizon (``train.early_stopping: per_horizon``).

On real data one schedule does not suit every horizon: on SPY, 1 s validation NLL kept falling for
four epochs while 300–600 s over-fitted after the first. Here each horizon keeps its own best
validation NLL; once it has not improved for ``patience`` epochs the horizon is *frozen*: its
loss is dropped (the remaining horizons share the loss), its head rows go back to their best
values and stay pinned there after every optimizer step (AdamW's momentum and weight decay would
otherwise keep moving them). Training stops when every horizon is frozen.

"Head rows" are the parameters that belong to one horizon only: the rows of the last head layer
that produce that horizon's logits, and any prior parameter with one entry per horizon (scale,
point mass). **Caveat:** the shared backbone keeps moving for the horizons still training, so a
frozen head reads a representation that drifts away from the one it was best with; its
validation NLL is still measured every epoch (``history``) and calibration's residual weight can
shrink a head that drifted back towards the prior. The composite model (the latest backbone plus
every horizon's best head rows) is what ``best.pt`` holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ash.model import AshModel


@dataclass(frozen=True)
class HorizonRows:
    """A parameter whose leading axis splits into ``n_horizons`` equal blocks of rows."""

    name: str
    param: nn.Parameter

    def block(self, h: int, n_horizons: int) -> slice:
        size = self.param.shape[0] // n_horizons
        return slice(h * size, (h + 1) * size)


def horizon_rows(model: AshModel) -> list[HorizonRows]:
    """The parameters of ``model`` that hold per-horizon blocks (see the module docstring),
    named as in its ``state_dict``."""
    n = len(model.horizons)
    owned: set[int] = set()
    if model.head is not None:
        last = list(model.head.children())[-1]
        if isinstance(last, nn.Linear):
            owned |= {id(p) for p in last.parameters()}
    if model.prior is not None:
        owned |= {id(p) for p in model.prior.parameters() if p.dim() >= 1 and p.shape[0] == n}
    return [HorizonRows(k, p) for k, p in model.named_parameters() if id(p) in owned]


class HorizonStopping:
    """Per-horizon best NLL, patience and frozen heads of one training run."""

    def __init__(self, model: AshModel, horizons: tuple[float, ...], patience: int) -> None:
        self.rows = horizon_rows(model)
        if not self.rows:
            raise ValueError(
                "train.early_stopping: per_horizon needs per-horizon head rows (a neural "
                "family's last head layer); use early_stopping: mean"
            )
        self.horizons = horizons
        self.patience = patience
        n = len(horizons)
        self.best_nll = [math.inf] * n
        self.best_epoch = [0] * n
        self.bad_epochs = [0] * n
        self.active = [True] * n
        self.best = {r.name: r.param.detach().clone() for r in self.rows}

    @property
    def done(self) -> bool:
        return not any(self.active)

    def loss_mask(self, device: torch.device) -> torch.Tensor:
        """``[H]`` bool: the horizons whose loss still counts."""
        return torch.tensor(self.active, dtype=torch.bool, device=device)

    def update(self, epoch: int, val: dict[str, float]) -> list[float]:
        """Record epoch ``epoch`` (1-based)'s validation NLL; returns the horizons (seconds)
        frozen by it. An improving horizon's head rows become its best."""
        frozen: list[float] = []
        for h, seconds in enumerate(self.horizons):
            if not self.active[h]:
                continue
            nll = val[f"nll_h{seconds:g}"]
            if nll < self.best_nll[h]:
                self.best_nll[h], self.best_epoch[h], self.bad_epochs[h] = nll, epoch, 0
                self._keep(h)
                continue
            self.bad_epochs[h] += 1
            if self.bad_epochs[h] >= self.patience:
                self.active[h] = False
                frozen.append(seconds)
        self.pin()
        return frozen

    def record(self, epoch: int, val: dict[str, float], row: dict[str, Any]) -> tuple[bool, str]:
        """:meth:`update` for the trainer's epoch end: notes the improved and frozen horizons in
        the history ``row``; returns whether any improved and the epoch line's note."""
        frozen = self.update(epoch, val)
        improved = [s for s, e in zip(self.horizons, self.best_epoch, strict=True) if e == epoch]
        row["improved_horizons"] = improved
        row["frozen_horizons"] = [
            s for s, on in zip(self.horizons, self.active, strict=True) if not on
        ]
        note = f"  * best at {', '.join(f'{s:g}' for s in improved)} s" if improved else ""
        if frozen:
            note += f"  frozen {', '.join(f'{s:g}' for s in frozen)} s"
        return bool(improved), note

    @torch.no_grad()
    def _keep(self, h: int) -> None:
        n = len(self.horizons)
        for r in self.rows:
            block = r.block(h, n)
            self.best[r.name][block] = r.param.detach()[block]

    @torch.no_grad()
    def pin(self) -> None:
        """Put the frozen horizons' head rows back to their best values."""
        self._put([h for h, on in enumerate(self.active) if not on])

    @torch.no_grad()
    def restore(self) -> None:
        """Every horizon's best head rows (the composite model ``best.pt`` holds)."""
        self._put(list(range(len(self.horizons))))

    def _put(self, horizons: list[int]) -> None:
        n = len(self.horizons)
        for r in self.rows:
            for h in horizons:
                block = r.block(h, n)
                r.param[block] = self.best[r.name][block].to(r.param.device)

    def composite_state(self, model: AshModel) -> dict[str, torch.Tensor]:
        """``model``'s state with every horizon's best head rows: the model training would
        leave if it ended now."""
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        for name, best in self.best.items():
            state[name] = best.detach().clone()
        return state

    def summary(self) -> dict[str, float]:
        """Per horizon: the epoch its head rows come from (``best_epoch_h{s}``)."""
        return {
            f"best_epoch_h{seconds:g}": float(epoch)
            for seconds, epoch in zip(self.horizons, self.best_epoch, strict=True)
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "best_nll": list(self.best_nll),
            "best_epoch": list(self.best_epoch),
            "bad_epochs": list(self.bad_epochs),
            "active": list(self.active),
            "best": {k: v.cpu() for k, v in self.best.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_nll = [float(x) for x in state["best_nll"]]
        self.best_epoch = [int(x) for x in state["best_epoch"]]
        self.bad_epochs = [int(x) for x in state["bad_epochs"]]
        self.active = [bool(x) for x in state["active"]]
        self.best = {k: v.to(self.best[k].device) for k, v in state["best"].items()}
