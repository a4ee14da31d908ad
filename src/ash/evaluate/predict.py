"""Forecasts of the model and of every baseline on the same samples of one split."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from ash.data.windows import subsample
from ash.evaluate import baselines
from ash.feature_cache import window_source
from ash.model import AshModel
from ash.pipeline import PreparedData
from ash.scoring import Logits, Scores, score_windows

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


def _scores(
    model: AshModel, prepared: PreparedData, ends: I64, logits: Logits, feature_cache: bool
) -> Scores:
    bars = torch.as_tensor(prepared.bars.values, dtype=torch.float32)
    returns = torch.as_tensor(prepared.returns_bps, dtype=torch.float64)
    source = window_source(
        model, bars, prepared.bars.segment_id, cache=feature_cache, ends=np.asarray(ends)
    )
    return score_windows(
        model,
        bars,
        returns,
        ends,
        batch_size=BATCH,
        logits=logits,
        keep_edges=True,
        source=source,
    )


def model_forecasts(
    model: AshModel, prepared: PreparedData, ends: I64, *, feature_cache: bool = True
) -> tuple[F64, F64, F64, I64]:
    """Calibrated probs, uncalibrated probs, edges and realized bucket ids for ``ends``;
    ``feature_cache``: features once per bar (:mod:`ash.feature_cache`) or per window."""
    scores = _scores(model, prepared, ends, "parts", feature_cache)
    assert scores.head is not None and scores.edges is not None
    with torch.no_grad():
        cal = model.combine(scores.head, scores.prior).double()
        raw = model.combine(scores.head, scores.prior, calibrated=False).double()
    return (
        torch.softmax(cal, -1).numpy(),
        torch.softmax(raw, -1).numpy(),
        scores.edges.double().numpy(),
        scores.ids.numpy(),
    )


def train_bucket_ids(model: AshModel, prepared: PreparedData, ends: I64) -> tuple[F64, I64]:
    """Edges and bucket ids of training samples (edges may depend on the window)."""
    # Edges only: the discretizer reads bars, so no features are computed at all.
    scores = _scores(model, prepared, ends, "none", feature_cache=False)
    assert scores.edges is not None
    return scores.edges.double().numpy(), scores.ids.numpy()


@dataclass
class FittedBaselines:
    climatology: F64  # [S, H, K]: per symbol (a pooled run's symbols have different lattices)
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
    # Per symbol: one bucket holds a one-tick move for BAC but several for IBM, so pooled
    # frequencies would be a needlessly weak baseline for every symbol of a pooled run.
    owner = data.symbol_index[train]
    clim = np.stack(
        [baselines.climatology(ids[owner == s], model.n_buckets) for s in range(len(data.symbols))]
    )
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


def baselines_on(
    fitted: FittedBaselines, fitted_symbols: list[str], prepared: PreparedData
) -> FittedBaselines:
    """The baselines fitted on a run's training span, applied to other bars (``prepared``):
    the same climatology per symbol and EWMA parameters, with the new bars' one-bar returns and
    reference price (what :func:`baseline_forecasts` indexes by bar)."""
    data = prepared.bars
    missing = [s for s in data.symbols if s not in fitted_symbols]
    if missing:
        raise ValueError(
            f"no baseline for {', '.join(missing)}: the run was trained on "
            f"{', '.join(fitted_symbols)}; evaluate it on those symbols"
        )
    clim = fitted.climatology[[fitted_symbols.index(s) for s in data.symbols]]
    reference = data.column(prepared.reference)
    one_bar = baselines.one_bar_returns(reference, data.segment_id)
    return FittedBaselines(clim, fitted.ewma, fitted.ewma_lattice, one_bar, reference)


def baseline_forecasts(
    fitted: FittedBaselines, prepared: PreparedData, forecasts: SplitForecasts
) -> None:
    """Add climatology and both EWMA Gaussians to ``forecasts.probs``."""
    forecasts.probs["climatology"] = fitted.climatology[
        prepared.bars.symbol_index[forecasts.ends]
    ].copy()
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
