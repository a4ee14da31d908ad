"""Reference decoding of contract outputs (docs/contract.md §4): mean, quantiles, P(up/down).

Every consumer (the Rust runtime included) must reproduce these numbers; the fixtures carry them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True)
class Summary:
    mean_bps: float
    p_up: float
    p_down: float
    quantiles: dict[float, float]


def effective_edges(edges: np.ndarray) -> np.ndarray:
    """Replace the sentinels by the inner edge ∓ the adjacent inner bucket's width (1 bp if K=2)."""
    e = np.asarray(edges, dtype=np.float64)
    k = len(e) - 1
    w_lo = e[2] - e[1] if k > 2 else 1.0
    w_hi = e[k - 1] - e[k - 2] if k > 2 else 1.0
    f = e.copy()
    f[0] = e[1] - w_lo
    f[k] = e[k - 1] + w_hi
    return f


def quantile(probs: np.ndarray, f: np.ndarray, q: float) -> float:
    """The q-quantile of the piecewise-uniform distribution on effective edges ``f``."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile level must be in (0, 1), got {q}")
    cdf = 0.0
    for k, p in enumerate(np.asarray(probs, dtype=np.float64)):
        if cdf + p >= q and p > 0:
            return float(f[k] + (q - cdf) / p * (f[k + 1] - f[k]))
        cdf += p
    return float(f[-1])


def summarize(
    probs: np.ndarray, edges: np.ndarray, quantiles: tuple[float, ...] = DEFAULT_QUANTILES
) -> Summary:
    """Decode one row: ``probs[K]`` and ``edges[K + 1]``."""
    p = np.asarray(probs, dtype=np.float64)
    f = effective_edges(edges)
    lo, hi = f[:-1], f[1:]
    frac_up = np.clip((hi - np.maximum(lo, 0.0)) / (hi - lo), 0.0, 1.0)
    return Summary(
        mean_bps=float((p * (lo + hi) / 2).sum()),
        p_up=float((p * frac_up).sum()),
        p_down=float((p * (1.0 - frac_up)).sum()),
        quantiles={q: quantile(p, f, q) for q in quantiles},
    )
