"""Baselines a quant reaches for first, scored on exactly the model's samples and buckets.

- **climatology**: training-set frequencies of each bucket id per horizon and symbol (with
  window-dependent edges, the frequencies of bucket *ids*, i.e. of the same relative position in
  the grid).
- **EWMA Gaussian**: zero-mean Gaussian with EWMA variance of 1-bar log returns (decay fitted on
  train), ``σ_h = c_h · sqrt(h · v_t)`` with a per-horizon scale ``c_h`` fitted on train
  (returns are not exactly diffusive: microstructure noise and mean reversion), discretized into
  the model's buckets.
- **EWMA Gaussian on the tick lattice**: the same Gaussian, but the mid can only move by whole
  lattice steps (half a tick for a mid); each lattice return takes the Gaussian mass of its
  rounding interval, which is the Gaussian CDF evaluated at edges snapped to lattice midpoints.
  A bucket without a lattice point gets only the floor probability.

Every baseline is mixed with ``FLOOR`` of a uniform distribution so no realized bucket has zero
probability (a single zero would make the mean NLL infinite).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

FLOOR = 1e-4
DECAYS: tuple[float, ...] = (0.9, 0.97, 0.99, 0.995, 0.998, 0.999)
SCALES: F64 = np.geomspace(0.4, 2.5, 13)


def climatology(train_ids: I64, n_buckets: int, prior: float = 0.5) -> F64:
    """``[H, K]`` bucket frequencies from training bucket ids ``[N, H]`` (-1 = missing), with a
    Jeffreys-style ``prior`` count per bucket."""
    ids = np.asarray(train_ids)
    out = np.empty((ids.shape[1], n_buckets))
    for h in range(ids.shape[1]):
        valid = ids[:, h][ids[:, h] >= 0]
        counts = np.bincount(valid, minlength=n_buckets).astype(np.float64) + prior
        out[h] = counts / counts.sum()
    return out


def ewma_variance(one_bar_bps: F64, segment_id: I64, decay: float, init: float) -> F64:
    """EWMA of squared 1-bar returns, restarted at ``init`` at every segment start.

    ``v_t`` uses returns up to and including bar ``t`` (it is known at the bar's end).
    """
    r2 = np.nan_to_num(np.asarray(one_bar_bps, dtype=np.float64) ** 2, nan=init)
    n = len(r2)
    v = np.empty(n)
    starts = np.flatnonzero(np.r_[True, segment_id[1:] != segment_id[:-1]])
    bounds = np.r_[starts, n]
    # A linear recurrence per segment; vectorized by a cumulative sum in log-scaled units.
    for a, b in itertools.pairwise(bounds):
        x = r2[a:b]
        k = np.arange(b - a, dtype=np.float64)
        # v_k = decay^(k+1) init + (1-decay) sum_{j<=k} decay^(k-j) x_j, in blocks to stay finite
        out = np.empty(b - a)
        prev = init
        block = 256
        for s in range(0, b - a, block):
            xs = x[s : s + block]
            ks = k[s : s + block] - s
            w = decay ** (-(ks))
            csum = np.cumsum(xs * w)
            out[s : s + block] = decay ** (ks + 1) * prev + (1 - decay) * decay**ks * csum
            prev = out[min(s + block, b - a) - 1]
        v[a:b] = out
    return v


def one_bar_returns(reference: F64, segment_id: I64) -> F64:
    """Backward 1-bar log returns (bps); NaN at segment starts."""
    out = np.full(len(reference), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = 1e4 * np.diff(np.log(reference))
    same = segment_id[1:] == segment_id[:-1]
    out[1:] = np.where(same, r, np.nan)
    return out


def _cdf(x: F64) -> F64:
    return np.asarray(torch.special.ndtr(torch.from_numpy(np.ascontiguousarray(x))).numpy())


def snap_to_lattice(edges: F64, step_bps: F64) -> F64:
    """Edges moved to the midpoint below the first lattice point at or above them.

    Bucket ``[e_k, e_{k+1})`` holds lattice points ``j·δ`` with ``ceil(e_k/δ) <= j <
    ceil(e_{k+1}/δ)``; their rounding intervals tile ``[(ceil(e_k/δ) - ½)δ, (ceil(e_{k+1}/δ) -
    ½)δ)``. ``step_bps`` broadcasts against ``edges[..., :1]``.
    """
    d = np.asarray(step_bps, dtype=np.float64)
    return np.asarray((np.ceil(edges / d - 1e-9) - 0.5) * d, dtype=np.float64)


def gaussian_bucket_probs(edges: F64, sigma: F64) -> F64:
    """``[..., K]`` probabilities of N(0, σ²) over ``edges[..., K + 1]`` (outer buckets open)."""
    z = edges / sigma[..., None]
    cdf = _cdf(z)
    cdf[..., 0] = 0.0
    cdf[..., -1] = 1.0
    p = np.diff(cdf, axis=-1)
    k = p.shape[-1]
    return np.asarray((1 - FLOOR) * np.clip(p, 0.0, 1.0) + FLOOR / k, dtype=np.float64)


def _target_prob(edges: F64, ids: I64, sigma: F64) -> F64:
    """Probability of the realized bucket only (cheap: two CDF values per sample)."""
    lo = np.take_along_axis(edges, ids[:, None], axis=1)[:, 0] / sigma
    hi = np.take_along_axis(edges, ids[:, None] + 1, axis=1)[:, 0] / sigma
    k = edges.shape[1] - 1
    c_lo = np.where(ids == 0, 0.0, _cdf(lo))
    c_hi = np.where(ids == k - 1, 1.0, _cdf(hi))
    return np.asarray((1 - FLOOR) * np.clip(c_hi - c_lo, 0.0, 1.0) + FLOOR / k, dtype=np.float64)


def _best_scale(edges: F64, ids: I64, base: F64) -> tuple[float, float]:
    """The scale ``c`` minimising the NLL of N(0, (c·base)²): a coarse geometric grid, then a
    finer grid around its best point (resolution ~2 %)."""

    def nll(c: float) -> float:
        return float(-np.log(_target_prob(edges, ids, np.maximum(c * base, 1e-6))).mean())

    coarse = [(nll(c), float(c)) for c in SCALES]
    best_score, best = min(coarse)
    step = float(SCALES[1] / SCALES[0])
    fine = [(nll(c), float(c)) for c in np.geomspace(best / step, best * step, 9)]
    best_score, best = min([(best_score, best), *fine])
    return best, best_score


@dataclass(frozen=True)
class EwmaGaussian:
    """A fitted EWMA-Gaussian baseline."""

    decay: float
    scales: F64  # [H]
    init_var: float
    lattice: bool
    lattice_step_price: float  # lattice spacing of the reference price (0 when not lattice)

    def sigma(self, variance: F64, horizon_steps: tuple[int, ...]) -> F64:
        """``[N, H]`` standard deviations (bps) from per-sample 1-bar variances ``[N]``."""
        h = np.asarray(horizon_steps, dtype=np.float64)
        return np.maximum(self.scales[None, :] * np.sqrt(variance[:, None] * h[None, :]), 1e-6)

    def edges_for(self, edges: F64, reference: F64) -> F64:
        if not self.lattice:
            return edges
        step_bps = 1e4 * self.lattice_step_price / reference  # [N]
        snapped = snap_to_lattice(edges, step_bps[:, None, None])
        snapped[..., 0], snapped[..., -1] = edges[..., 0], edges[..., -1]
        return snapped

    def probs(self, edges: F64, variance: F64, reference: F64, steps: tuple[int, ...]) -> F64:
        """``[N, H, K]`` for samples with EWMA variance ``[N]`` and reference price ``[N]``."""
        sigma = self.sigma(variance, steps)
        return gaussian_bucket_probs(self.edges_for(edges, reference), sigma)


def lattice_step(reference: F64) -> float:
    """The lattice spacing of the reference price: the 1st percentile of non-zero moves (robust
    to the odd off-lattice print), e.g. half a cent for a 1-cent-tick mid."""
    moves = np.abs(np.diff(np.asarray(reference, dtype=np.float64)))
    moves = moves[np.isfinite(moves) & (moves > 1e-9)]
    if len(moves) == 0:
        return 0.0
    return float(np.quantile(moves, 0.01))


def fit_ewma_gaussian(
    one_bar_bps: F64,
    segment_id: I64,
    reference: F64,
    train_ends: I64,
    train_edges: F64,
    train_ids: I64,
    horizon_steps: tuple[int, ...],
    *,
    lattice: bool,
) -> EwmaGaussian:
    """Grid-search the decay and per-horizon scales that minimise training NLL."""
    init = float(np.nanmean(one_bar_bps[train_ends] ** 2))
    init = init if np.isfinite(init) and init > 0 else 1.0
    step = lattice_step(reference[train_ends]) if lattice else 0.0
    if lattice and step <= 0:
        lattice = False
    best: tuple[float, float, F64] | None = None
    for decay in DECAYS:
        var = ewma_variance(one_bar_bps, segment_id, decay, init)[train_ends]
        draft = EwmaGaussian(decay, np.ones(len(horizon_steps)), init, lattice, step)
        edges = draft.edges_for(train_edges, reference[train_ends])
        scales = np.ones(len(horizon_steps))
        total = 0.0
        for h, steps_h in enumerate(horizon_steps):
            ok = train_ids[:, h] >= 0
            base = np.sqrt(var[ok] * steps_h)
            scale, score = _best_scale(edges[ok, h], train_ids[ok, h], base)
            scales[h] = scale
            total += score
        if best is None or total < best[0]:
            best = (total, decay, scales)
    assert best is not None
    return EwmaGaussian(best[1], best[2], init, lattice, step)
