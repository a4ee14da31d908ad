"""Forecasts of the model and of every baseline on the same samples of one split."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from ash.components.discretizers.base import bucketize
from ash.data.pipeline import PreparedData, gather_windows
from ash.evaluate import baselines
from ash.feature_cache import window_source
from ash.model import AshModel

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

BATCH = 512
BASELINE_FIT_SAMPLES = 5000  # training samples the baselines are fitted on (grid searches)


@dataclass
class SplitForecasts:
    """Everything scored on one split; arrays are aligned on the sample axis."""

    name: str
    ends: I64  # [N] window-end bar indices
    edges: F64  # [N, H, K + 1]
    realized: F64  # [N, H] bps, NaN where missing
    ids: I64  # [N, H], -1 where missing
    probs: dict[str, F64] = field(default_factory=dict)  # forecaster -> [N, H, K]
    info: dict[str, Any] = field(default_factory=dict)


def subsample(ends: I64, max_samples: int | None) -> I64:
    """An evenly strided subsample (keeps the time spread; deterministic)."""
    if max_samples is None or len(ends) <= max_samples:
        return ends
    pick = np.linspace(0, len(ends) - 1, max_samples).round().astype(np.int64)
    return ends[np.unique(pick)]


@torch.no_grad()
def model_forecasts(
    model: AshModel, prepared: PreparedData, ends: I64, *, feature_cache: bool = True
) -> tuple[F64, F64, F64, I64]:
    """Calibrated probs, uncalibrated probs, edges and realized bucket ids for ``ends``;
    ``feature_cache``: features once per bar (:mod:`ash.feature_cache`) or per window."""
    model.eval()
    bars = torch.as_tensor(prepared.bars.values, dtype=torch.float32)
    returns = torch.as_tensor(prepared.returns_bps, dtype=torch.float64)
    source = window_source(
        model, bars, prepared.bars.segment_id, cache=feature_cache, ends=np.asarray(ends)
    )
    cal, uncal, edges, ids = [], [], [], []
    for start in range(0, len(ends), BATCH):
        idx = torch.as_tensor(ends[start : start + BATCH])
        inputs = source.gather(idx)
        head, prior = source.logit_parts(model, *inputs)
        logits = model.combine(head, prior).double()
        raw = model.combine(head, prior, calibrated=False).double()
        e = source.edges(model, *inputs).double()
        cal.append(torch.softmax(logits, -1).numpy())
        uncal.append(torch.softmax(raw, -1).numpy())
        edges.append(e.numpy())
        ids.append(bucketize(returns[idx], e).numpy())
    return (np.concatenate(cal), np.concatenate(uncal), np.concatenate(edges), np.concatenate(ids))


@torch.no_grad()
def train_bucket_ids(model: AshModel, prepared: PreparedData, ends: I64) -> tuple[F64, I64]:
    """Edges and bucket ids of training samples (edges may depend on the window)."""
    bars = torch.as_tensor(prepared.bars.values, dtype=torch.float32)
    returns = torch.as_tensor(prepared.returns_bps, dtype=torch.float64)
    edges, ids = [], []
    for start in range(0, len(ends), BATCH):
        idx = torch.as_tensor(ends[start : start + BATCH])
        e = model.edges(gather_windows(bars, idx, model.window)).double()
        edges.append(e.numpy())
        ids.append(bucketize(returns[idx], e).numpy())
    return np.concatenate(edges), np.concatenate(ids)


@dataclass
class FittedBaselines:
    climatology: F64  # [H, K]
    ewma: baselines.EwmaGaussian
    ewma_lattice: baselines.EwmaGaussian
    one_bar_bps: F64  # [T]
    reference: F64  # [T]

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, fit in (
            ("ewma_gaussian", self.ewma),
            ("ewma_gaussian_lattice", self.ewma_lattice),
        ):
            out[name] = {
                "decay": fit.decay,
                "scales": [float(s) for s in fit.scales],
                "lattice": fit.lattice,
                "lattice_step_price": fit.lattice_step_price,
            }
        return out


def fit_baselines(
    model: AshModel, prepared: PreparedData, max_samples: int | None
) -> FittedBaselines:
    data = prepared.bars
    train = subsample(prepared.samples.train, max_samples)
    edges, ids = train_bucket_ids(model, prepared, train)
    clim = baselines.climatology(ids, model.n_buckets)
    fit_rows = np.isin(train, subsample(train, BASELINE_FIT_SAMPLES))
    train, edges, ids = train[fit_rows], edges[fit_rows], ids[fit_rows]
    reference = data.column(prepared.reference)
    one_bar = baselines.one_bar_returns(reference, data.segment_id)
    fits = [
        baselines.fit_ewma_gaussian(
            one_bar,
            data.segment_id,
            reference,
            train,
            edges,
            ids,
            prepared.horizon_steps,
            lattice=lattice,
        )
        for lattice in (False, True)
    ]
    return FittedBaselines(clim, fits[0], fits[1], one_bar, reference)


def baseline_forecasts(
    fitted: FittedBaselines, prepared: PreparedData, forecasts: SplitForecasts
) -> None:
    """Add climatology and both EWMA Gaussians to ``forecasts.probs``."""
    n = len(forecasts.ends)
    forecasts.probs["climatology"] = np.broadcast_to(
        fitted.climatology[None], (n, *fitted.climatology.shape)
    ).copy()
    segment = prepared.bars.segment_id
    reference = fitted.reference[forecasts.ends]
    for name, fit in (
        ("ewma_gaussian", fitted.ewma),
        ("ewma_gaussian_lattice", fitted.ewma_lattice),
    ):
        var = baselines.ewma_variance(fitted.one_bar_bps, segment, fit.decay, fit.init_var)
        forecasts.probs[name] = fit.probs(
            forecasts.edges, var[forecasts.ends], reference, prepared.horizon_steps
        )


def oracle_forecasts(
    oracle: Any, prepared: PreparedData, forecasts: SplitForecasts, max_samples: int
) -> None:
    """The source's oracle on the same edges for an evenly strided subset of the samples
    (at most ``max_samples``: Monte Carlo is costly); other rows stay NaN."""
    data = prepared.bars
    n = len(forecasts.ends)
    probs = np.full((*forecasts.edges.shape[:2], forecasts.edges.shape[2] - 1), np.nan)
    chosen = subsample(np.arange(n, dtype=np.int64), max_samples)
    checked = [0, 0]
    symbols = data.symbol_index[forecasts.ends]
    for i, symbol in enumerate(data.symbols):
        rows = chosen[symbols[chosen] == i]
        if len(rows) == 0:
            continue
        bar_end = data.ts_ns[forecasts.ends[rows]] + data.bar_ns
        probs[rows] = oracle.probabilities(
            symbol, bar_end, list(prepared.horizons_s), forecasts.edges[rows]
        )
        agree, total = _target_agreement(oracle, symbol, bar_end, prepared, forecasts, rows)
        checked[0] += agree
        checked[1] += total
    forecasts.probs["oracle"] = probs
    # The oracle describes the source's targets only if it sees the same realized returns.
    forecasts.info["oracle_target_agreement"] = checked[0] / checked[1] if checked[1] else None


def _target_agreement(
    oracle: Any,
    symbol: str,
    bar_end: I64,
    prepared: PreparedData,
    forecasts: SplitForecasts,
    rows: I64,
) -> tuple[int, int]:
    """(matching, compared) realized targets between the oracle and the bars (1e-6 bps)."""
    if not hasattr(oracle, "realized_returns"):
        return 0, 0
    theirs = np.asarray(oracle.realized_returns(symbol, bar_end, list(prepared.horizons_s)))
    ours = forecasts.realized[rows]
    both = np.isfinite(theirs) & np.isfinite(ours)
    return int((np.abs(theirs - ours)[both] < 1e-6).sum()), int(both.sum())
