"""Scoring a model on sample windows: the one batch loop and the one NLL.

Training (validation NLL, calibration) and evaluation (forecasts of every split, the baselines'
bucket ids) all score windows the same way: gather each batch of windows from the bar array by
their end index, run the model, bucket the realized returns under the model's own edges (in the
dtype of ``returns``). :func:`score_windows` is that loop; :func:`nll_sums` is the NLL of logits
against bucket ids that validation, early stopping and calibration report.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from ash.components.discretizers.base import bucketize
from ash.feature_cache import BarWindows, WindowSource
from ash.model import AshModel

Logits = Literal["calibrated", "parts", "none"]


@dataclass(frozen=True)
class Scores:
    """What :func:`score_windows` computed, on the CPU, aligned on the sample axis ``N``."""

    ids: torch.Tensor  # [N, H] int64 bucket id of the realized return, -1 where missing
    logits: torch.Tensor | None = None  # [N, H, K] float32, calibrated ("calibrated")
    head: torch.Tensor | None = None  # [N, H, K] float32 uncalibrated head logits ("parts")
    prior: torch.Tensor | None = None  # [N, H, K] the prior's log-probabilities ("parts")
    edges: torch.Tensor | None = None  # [N, H, K + 1] (``keep_edges``)

    @property
    def mask(self) -> torch.Tensor:
        """Where a target exists."""
        return self.ids >= 0

    @property
    def targets(self) -> torch.Tensor:
        """Bucket ids with missing targets set to 0 (read them together with :attr:`mask`)."""
        return self.ids.clamp(min=0)


@torch.no_grad()
def score_windows(
    model: AshModel,
    bars: torch.Tensor,
    returns: torch.Tensor,
    ends: np.ndarray,
    *,
    batch_size: int,
    autocast: Callable[[], AbstractContextManager[Any]] = nullcontext,
    logits: Logits = "calibrated",
    keep_edges: bool = False,
    source: WindowSource | None = None,
) -> Scores:
    """Score the windows ending at ``ends`` of ``bars[T, C]`` against ``returns[T, H]`` (bps).

    ``logits``: ``calibrated`` keeps the model's calibrated logits, ``parts`` the uncalibrated
    head logits and the prior's log-probabilities (what calibration fits on), ``none`` neither
    (bucket ids and edges only). ``source``: where the model's inputs come from (default: bar
    windows of ``bars``; features computed once per bar: :mod:`ash.feature_cache`). The model
    is put in eval mode.
    """
    source = source or BarWindows(model, bars)
    model.eval()
    ids, out_logits, heads, priors, edges_out = [], [], [], [], []
    for start in range(0, len(ends), batch_size):
        idx = torch.as_tensor(ends[start : start + batch_size], device=bars.device)
        inputs = source.gather(idx)
        with autocast():
            if logits == "calibrated":
                parts = source.logit_parts(model, *inputs)
                out_logits.append(model.combine(*parts).float().cpu())
            elif logits == "parts":
                head, prior = source.logit_parts(model, *inputs)
                heads.append(head.float().cpu())
                if prior is not None:
                    priors.append(prior.float().cpu())
            edges = source.edges(model, *inputs)
        ids.append(bucketize(returns[idx], edges.to(returns.dtype)).cpu())
        if keep_edges:
            edges_out.append(edges.float().cpu())
    return Scores(
        ids=torch.cat(ids),
        logits=torch.cat(out_logits) if out_logits else None,
        head=torch.cat(heads) if heads else None,
        prior=torch.cat(priors) if priors else None,
        edges=torch.cat(edges_out) if edges_out else None,
    )


def nll_sums(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``[2, H]`` float64: per horizon, the summed NLL of the masked targets and their count."""
    logp = torch.log_softmax(logits.double(), dim=-1)
    picked = -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    sums = [picked[mask[:, h], h].sum() for h in range(picked.shape[1])]
    return torch.stack([torch.stack(sums), mask.double().sum(0)])


def nll_metrics(sums: torch.Tensor, horizons: tuple[float, ...]) -> dict[str, float]:
    """``nll_h{seconds}`` per horizon (NaN where a horizon has no target) and their mean ``nll``."""
    per = [float(s / n) if n > 0 else float("nan") for s, n in zip(sums[0], sums[1], strict=True)]
    out = {f"nll_h{seconds:g}": value for seconds, value in zip(horizons, per, strict=True)}
    out["nll"] = float(np.nanmean(per))
    return out
