"""``quantile``: equal-population buckets per horizon, fitted on the training targets.

Edges are placed in the *gaps* between distinct observed returns (midpoints), never on a value, so
an atom (a return that occurs many times, e.g. exactly 0 at 1 s, or ±½ tick) is never split: the
buckets are equally populated *up to atoms* — a bucket holding an atom holds all of it. When atoms
leave fewer usable gaps than needed, the spare edges split the most populated buckets that still
have a gap, and, if none is left, extend outwards past the largest observed returns (empty tail
buckets). Before ``fit`` the edges are those of ``log_return`` with the same K, so an unfitted
model is still valid.
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field

from ash.components.discretizers.base import (
    OUTER_EDGE_BPS,
    EdgeDiscretizer,
    SymmetricConfig,
    unit_grid,
)
from ash.components.discretizers.log_return import uniform_widths
from ash.interfaces import ModelContext


class QuantileConfig(SymmetricConfig):
    tail_spacing_bps: float = Field(
        0.5, gt=0, description="Spacing (bps) of spare edges placed beyond the observed returns."
    )


def _nearest_gaps(gap_counts: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Index of the gap whose count-below is nearest each target count."""
    idx = np.searchsorted(gap_counts, targets)
    lo = np.clip(idx - 1, 0, len(gap_counts) - 1)
    hi = np.clip(idx, 0, len(gap_counts) - 1)
    pick_hi = np.abs(gap_counts[hi] - targets) < np.abs(gap_counts[lo] - targets)
    return np.where(pick_hi, hi, lo)


def quantile_inner_edges(values: np.ndarray, n_buckets: int, tail_spacing: float) -> np.ndarray:
    """``n_buckets - 1`` strictly increasing finite edges, equal-population up to atoms."""
    x = np.sort(np.clip(values, -OUTER_EDGE_BPS / 2, OUTER_EDGE_BPS / 2))
    n = len(x)
    n_inner = n_buckets - 1
    uniq, first = np.unique(x, return_index=True)
    gap_counts = first[1:].astype(np.float64)  # returns strictly below each gap
    gap_pos = 0.5 * (uniq[:-1] + uniq[1:])
    chosen: set[int] = set()
    if len(gap_counts):
        targets = np.arange(1, n_buckets) * n / n_buckets
        chosen = set(_nearest_gaps(gap_counts, targets).tolist())
    # Spare edges: split the most populated bucket that still has an unused gap, near its middle.
    while len(chosen) < n_inner and len(chosen) < len(gap_counts):
        cuts = sorted(chosen)
        bounds = [0.0, *[gap_counts[c] for c in cuts], float(n)]
        order = np.argsort(np.diff(bounds))[::-1]
        for b in order:
            lo, hi = bounds[b], bounds[b + 1]
            free = np.nonzero((gap_counts > lo) & (gap_counts < hi))[0]
            if len(free):
                mid = 0.5 * (lo + hi)
                chosen.add(int(free[np.argmin(np.abs(gap_counts[free] - mid))]))
                break
    edges = sorted(gap_pos[c] for c in chosen)
    # Still short (fewer distinct returns than buckets): empty buckets beyond the extremes.
    top, bottom = float(x[-1]), float(x[0])
    step = 1
    while len(edges) < n_inner:
        if step % 2:
            edges.append(top + tail_spacing * (step // 2 + 0.5))
        else:
            edges.insert(0, bottom - tail_spacing * (step // 2 - 0.5))
        step += 1
    return strictly_increasing_f32(np.asarray(edges, dtype=np.float64))


def strictly_increasing_f32(edges: np.ndarray) -> np.ndarray:
    """Round to float32 (the graph's dtype) without letting two close edges collide."""
    out = edges.astype(np.float32)
    for i in range(1, len(out)):
        if out[i] <= out[i - 1]:
            out[i] = np.nextafter(out[i - 1], np.float32(np.inf))
    return out


class QuantileDiscretizer(EdgeDiscretizer[QuantileConfig]):
    """Per-horizon equal-population (up to atoms) buckets fitted on training returns."""

    inner_edges: torch.Tensor
    fitted: torch.Tensor
    name = "quantile"

    def __init__(self, config: QuantileConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self._tail_spacing = config.tail_spacing_bps
        widths = uniform_widths(ctx, config.n_buckets, 50.0, 60.0, "sqrt", 0.5, {})
        grid = unit_grid(config.n_buckets)
        self.register_buffer("inner_edges", torch.stack([grid * w for w in widths]).float())
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    def fit(self, returns_bps: np.ndarray) -> None:
        data = np.asarray(returns_bps, dtype=np.float64)
        n_h = len(self.ctx.horizons)
        if data.ndim != 2 or data.shape[1] != n_h:
            raise ValueError(
                f"quantile.fit expects returns of shape [N, {n_h}] (one column per horizon "
                f"{list(self.ctx.horizons)}), got {data.shape}"
            )
        rows = []
        for j, h in enumerate(self.ctx.horizons):
            col = data[:, j][np.isfinite(data[:, j])]
            if len(col) < self.n_buckets:
                raise ValueError(
                    f"quantile.fit: horizon {h} s has {len(col)} finite training returns; "
                    f"need at least n_buckets={self.n_buckets}"
                )
            rows.append(quantile_inner_edges(col, self.n_buckets, self._tail_spacing))
        self.inner_edges.copy_(torch.as_tensor(np.stack(rows), dtype=torch.float32))
        self.fitted.fill_(True)

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        return self._static_edges(self.inner_edges, bars)
