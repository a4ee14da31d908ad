"""Fitting a *fitted* model family (docs/families.md): one call on cached feature windows.

The generic trainer hands over its prepared pieces (model with fitted discretizer, prior and
normalization; the window source; targets); this module turns windows into the family's design
rows, bucket ids and prior log-probabilities, and calls ``Family.fit`` with the validation
windows for early stopping. Calibration and the run folder stay the trainer's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from ash.components.discretizers.base import bucketize
from ash.components.families.design import design_matrix
from ash.feature_cache import CachedFeatures, WindowSource
from ash.interfaces import FamilyData
from ash.model import AshModel


@torch.no_grad()
def family_data(
    model: AshModel,
    source: WindowSource,
    returns: torch.Tensor,
    ends: np.ndarray,
    batch_size: int,
) -> FamilyData:
    """Design rows, bucket ids and prior log-probabilities of the windows ending at ``ends``."""
    xs, ys, bases = [], [], []
    for start in range(0, len(ends), batch_size):
        idx = torch.as_tensor(ends[start : start + batch_size], device=returns.device)
        inputs = source.gather(idx)
        if isinstance(source, CachedFeatures):
            raw, tail = inputs
        else:
            raw, tail = model.raw_features(inputs[0]), inputs[0]
        edges = model.edges(tail)
        base = (
            model.prior(tail, edges)
            if model.prior is not None
            else torch.zeros(len(idx), len(model.horizons), model.n_buckets, device=tail.device)
        )
        xs.append(design_matrix(raw).float().cpu().numpy())
        ys.append(bucketize(returns[idx], edges.to(returns.dtype)).cpu().numpy())
        bases.append(base.float().cpu().numpy())
    return FamilyData(np.concatenate(xs), np.concatenate(ys), np.concatenate(bases))


def fit_family(
    model: AshModel,
    source: WindowSource,
    returns: torch.Tensor,
    train_ends: np.ndarray,
    val_ends: np.ndarray,
    batch_size: int,
) -> dict[str, Any]:
    """Fit ``model.family`` in place; returns the history row of the one "epoch"."""
    family = model.family
    if family is None:
        raise ValueError("fit_family needs a model with a fitted family (not the neural one)")
    started = time.perf_counter()
    train = family_data(model, source, returns, train_ends, batch_size)
    val = family_data(model, source, returns, val_ends, batch_size)
    prepared_s = time.perf_counter() - started
    report = family.fit(train, val)
    seconds = time.perf_counter() - started
    return {
        "epoch": 1,
        "train_loss": float("nan"),  # no gradient steps; the family early-stopped on validation
        "train_windows": len(train_ends),
        "val_windows": len(val_ends),
        "design_seconds": prepared_s,
        "fit_seconds": seconds - prepared_s,
        "samples_per_s": len(train_ends) / seconds if seconds > 0 else float("nan"),
        **report,
    }
