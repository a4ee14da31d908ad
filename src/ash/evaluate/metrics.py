"""Scores of discrete predictive distributions against realized buckets (numpy, float64).

Every function takes ``probs[N, K]`` (rows sum to 1) and integer ``targets[N]`` (bucket ids in
``0..K-1``) for ONE horizon; masking of missing targets happens before, in the caller.
Conventions (also in docs/evaluation.md):

- NLL: natural log, ``-log p[y]`` with ``p`` floored at :data:`PROB_FLOOR`.
- Brier: multi-class, ``sum_k (p_k - 1{k = y})^2`` (0 perfect, 2 worst).
- RPS: ranked probability score, ``sum_{k<K-1} (P_k - O_k)^2`` over cumulative distributions,
  not divided by ``K - 1`` (the discrete CRPS in bucket units; 0 for a perfect forecast).
- ECE: top-label expected calibration error with equal-width confidence bins.
- PIT: randomized probability integral transform ``F(y-1) + V p(y)``, ``V ~ U(0, 1)``; uniform
  for a calibrated forecaster even though the outcome is discrete.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

PROB_FLOOR = 1e-12


def check_inputs(probs: np.ndarray, targets: np.ndarray) -> tuple[F64, I64]:
    """Validate shapes and ids once, so every metric below can trust its inputs."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(targets)
    if p.ndim != 2:
        raise ValueError(f"probs must be [N, K], got shape {p.shape}")
    if y.shape != (p.shape[0],):
        raise ValueError(f"targets must be [N] = [{p.shape[0]}], got shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= p.shape[1]):
        raise ValueError(
            f"target bucket ids must lie in 0..{p.shape[1] - 1}; got range "
            f"{int(y.min())}..{int(y.max())} (mask missing targets before scoring)"
        )
    return p, y.astype(np.int64)


def nll_per_sample(probs: np.ndarray, targets: np.ndarray) -> F64:
    p, y = check_inputs(probs, targets)
    picked = p[np.arange(len(y)), y]
    return -np.log(np.maximum(picked, PROB_FLOOR))


def nll(probs: np.ndarray, targets: np.ndarray) -> float:
    return float(nll_per_sample(probs, targets).mean())


def paired_difference(a: np.ndarray, b: np.ndarray, blocks: int = 20) -> tuple[float, float]:
    """Mean of ``a − b`` over time-ordered paired samples and its standard error by batch means.

    Forecasts of overlapping windows are strongly autocorrelated, so the i.i.d. standard error
    would be far too small; the means of ``blocks`` contiguous blocks are nearly independent, and
    their spread gives an honest error bar (NaN with fewer than 2 samples per block).
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if len(d) < 2 * blocks:
        return float(d.mean()) if len(d) else math.nan, math.nan
    means = np.array([part.mean() for part in np.array_split(d, blocks)])
    return float(d.mean()), float(means.std(ddof=1) / math.sqrt(blocks))


def one_hot(targets: I64, n_buckets: int) -> F64:
    out = np.zeros((len(targets), n_buckets))
    out[np.arange(len(targets)), targets] = 1.0
    return out


def brier(probs: np.ndarray, targets: np.ndarray) -> float:
    p, y = check_inputs(probs, targets)
    return float(((p - one_hot(y, p.shape[1])) ** 2).sum(axis=1).mean())


def rps(probs: np.ndarray, targets: np.ndarray) -> float:
    p, y = check_inputs(probs, targets)
    cdf = np.cumsum(p, axis=1)[:, :-1]
    outcome = (np.arange(p.shape[1] - 1)[None, :] >= y[:, None]).astype(np.float64)
    return float(((cdf - outcome) ** 2).sum(axis=1).mean())


@dataclass(frozen=True)
class Reliability:
    """Per-bin confidence, accuracy and count of a top-label reliability diagram."""

    edges: F64  # [bins + 1]
    confidence: F64  # [bins], NaN for empty bins
    accuracy: F64  # [bins], NaN for empty bins
    count: I64  # [bins]

    @property
    def ece(self) -> float:
        total = int(self.count.sum())
        if total == 0:
            return float("nan")
        used = self.count > 0
        gaps = np.abs(self.accuracy[used] - self.confidence[used])
        return float((gaps * self.count[used]).sum() / total)


def reliability(probs: np.ndarray, targets: np.ndarray, bins: int = 10) -> Reliability:
    """Top-label reliability: confidence = max prob, correct = argmax equals the outcome."""
    p, y = check_inputs(probs, targets)
    if bins < 1:
        raise ValueError(f"reliability needs at least one bin, got {bins}")
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin i holds (edges[i], edges[i+1]]; a confidence of exactly 0 cannot occur for max prob.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins).astype(np.int64)
    conf_sum = np.bincount(which, weights=confidence, minlength=bins)
    acc_sum = np.bincount(which, weights=correct, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.where(count > 0, conf_sum / np.maximum(count, 1), np.nan)
        acc = np.where(count > 0, acc_sum / np.maximum(count, 1), np.nan)
    return Reliability(edges, conf, acc, count)


def ece(probs: np.ndarray, targets: np.ndarray, bins: int = 10) -> float:
    return reliability(probs, targets, bins).ece


def pit(probs: np.ndarray, targets: np.ndarray, uniforms: np.ndarray) -> F64:
    """Randomized PIT values ``F(y - 1) + V * p(y)`` for given draws ``V`` in [0, 1)."""
    p, y = check_inputs(probs, targets)
    v = np.asarray(uniforms, dtype=np.float64)
    if v.shape != y.shape:
        raise ValueError(f"uniforms must have shape {y.shape}, got {v.shape}")
    below = np.cumsum(p, axis=1) - p  # F(k - 1) for every k
    rows = np.arange(len(y))
    return np.clip(below[rows, y] + v * p[rows, y], 0.0, 1.0)


def pit_histogram(values: np.ndarray, bins: int = 10) -> I64:
    counts, _ = np.histogram(values, bins=bins, range=(0.0, 1.0))
    return counts.astype(np.int64)


def pit_ks(values: np.ndarray) -> float:
    """Kolmogorov–Smirnov distance of PIT values from U(0, 1) (0 = perfectly uniform)."""
    u = np.sort(np.asarray(values, dtype=np.float64))
    n = len(u)
    if n == 0:
        return float("nan")
    grid = np.arange(1, n + 1) / n
    return float(max(np.max(grid - u), np.max(u - (grid - 1.0 / n))))


def entropy(probs: np.ndarray) -> float:
    """Mean Shannon entropy (nats): lower is sharper."""
    p = np.asarray(probs, dtype=np.float64)
    return float(-(p * np.log(np.maximum(p, PROB_FLOOR))).sum(axis=1).mean())


def moments(probs: np.ndarray, centers: np.ndarray) -> tuple[F64, F64]:
    """Predicted mean and standard deviation (bps) from bucket centres ``[N, K]`` or ``[K]``."""
    p = np.asarray(probs, dtype=np.float64)
    c = np.broadcast_to(np.asarray(centers, dtype=np.float64), p.shape)
    mean = (p * c).sum(axis=1)
    var = (p * (c - mean[:, None]) ** 2).sum(axis=1)
    return mean, np.sqrt(np.maximum(var, 0.0))


def directional_accuracy(predicted_mean: np.ndarray, realized: np.ndarray) -> tuple[float, float]:
    """(accuracy, coverage): share of correct signs where both the predicted mean and the realized
    return are non-zero, and the share of samples where that is the case (at 1 s most realized
    returns are exactly 0 on a tick lattice, so the coverage matters)."""
    m = np.asarray(predicted_mean, dtype=np.float64)
    r = np.asarray(realized, dtype=np.float64)
    used = (m != 0) & (r != 0) & np.isfinite(r)
    if not used.any():
        return float("nan"), 0.0
    return float((np.sign(m[used]) == np.sign(r[used])).mean()), float(used.mean())


def score_horizon(
    probs: np.ndarray,
    targets: np.ndarray,
    *,
    reliability_bins: int = 10,
    seed: int = 0,
) -> dict[str, float]:
    """The scalar metrics of one horizon (the inputs already masked)."""
    p, y = check_inputs(probs, targets)
    if len(y) == 0:
        raise ValueError("no samples to score (every target masked?)")
    rng = np.random.default_rng(seed)
    pit_values = pit(p, y, rng.random(len(y)))
    return {
        "nll": nll(p, y),
        "brier": brier(p, y),
        "rps": rps(p, y),
        "ece": ece(p, y, reliability_bins),
        "pit_ks": pit_ks(pit_values),
        "entropy": entropy(p),
        "n": float(len(y)),
    }
