"""A deliberately simple P&L simulation of the forecast's direction.

At each sample: go long when P(up) clears ``threshold`` (and exceeds P(down)), short when P(down)
does, else stay flat; hold for the horizon and pay ``cost_bps`` per round trip. P(up) and P(down)
are the served ones (:mod:`ash.decoding`: the bucket a zero return falls into is P(flat) and
counts for neither side), so the backtested rule is the rule a live consumer of ``ash-serve``
would run.
Samples overlap (one per bar), so the per-trade figures are the honest ones; the
"non-overlapping" total keeps only samples at least one horizon apart.
"""

from __future__ import annotations

import numpy as np

from ash.decoding import direction_probs


def positions(probs: np.ndarray, edges: np.ndarray, threshold: float) -> np.ndarray:
    """+1 / -1 / 0 per sample from ``probs[N, K]`` and ``edges[N, K + 1]``."""
    up, _, down = direction_probs(probs, edges)
    side = np.zeros(len(up), dtype=np.int64)
    side[(up > threshold) & (up > down)] = 1
    side[(down > threshold) & (down > up)] = -1
    return side


def non_overlapping(ends: np.ndarray, horizon_bars: int) -> np.ndarray:
    """Boolean mask keeping samples at least ``horizon_bars`` after the previously kept one."""
    keep = np.zeros(len(ends), dtype=bool)
    next_free = -np.inf
    for i, e in enumerate(np.asarray(ends)):
        if e >= next_free:
            keep[i] = True
            next_free = e + horizon_bars
    return keep


def simulate(
    probs: np.ndarray,
    edges: np.ndarray,
    realized_bps: np.ndarray,
    ends: np.ndarray,
    horizon_bars: int,
    *,
    threshold: float,
    cost_bps: float,
) -> dict[str, float]:
    """P&L statistics of one horizon (inputs already masked to valid targets)."""
    side = positions(probs, edges, threshold)
    traded = side != 0
    gross = side * np.asarray(realized_bps, dtype=np.float64)
    net = gross - cost_bps * traded
    n = int(traded.sum())
    separate = non_overlapping(ends, horizon_bars) & traded
    return {
        "trades": float(n),
        "trade_rate": float(traded.mean()) if len(side) else 0.0,
        "mean_gross_bps": float(gross[traded].mean()) if n else 0.0,
        "mean_net_bps": float(net[traded].mean()) if n else 0.0,
        "hit_rate": float((gross[traded] > 0).mean()) if n else float("nan"),
        "total_net_bps_nonoverlap": float(net[separate].sum()),
        "trades_nonoverlap": float(separate.sum()),
    }
