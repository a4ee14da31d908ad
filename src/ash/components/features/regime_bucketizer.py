"""Auxiliary discretizers for *inputs*: implied vol, realized vol and relative volume regimes.

These are not target discretizers (they are not registered as ``Discretizer``): they bucket a
conditioning variable so a model can use it as a categorical input. :class:`RegimeBucketizer`
maps values to ids / one-hot vectors with fixed edges, in-graph; the ``*_value`` functions compute
the variables from a bar window. The ``regime_buckets`` feature builder combines them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from ash.components.features.volatility import TRADING_SECONDS_PER_YEAR, realized
from ash.components.ops import rolling_means, safe_div


class RegimeBucketizer(nn.Module):
    edges: torch.Tensor
    lower: torch.Tensor
    upper: torch.Tensor

    """Fixed increasing edges ``e_1 < … < e_{K−1}``; bucket ``k`` holds ``e_k <= x < e_{k+1}``
    (open-ended at both ends), so K = len(edges) + 1 regimes."""

    def __init__(self, edges: Sequence[float], what: str) -> None:
        super().__init__()
        values = list(edges)
        if not values or any(b <= a for a, b in itertools.pairwise(values)):
            raise ValueError(
                f"{what} regime edges must be non-empty and strictly increasing; got {values}"
            )
        self.register_buffer("edges", torch.tensor(values, dtype=torch.float32))
        # Bucket k is [lower_k, upper_k) with open ends: a one-hot is two comparisons.
        inf = float("inf")
        self.register_buffer("lower", torch.tensor([-inf, *values]), persistent=False)
        self.register_buffer("upper", torch.tensor([*values, inf]), persistent=False)
        self.n_buckets = len(values) + 1

    def ids(self, x: torch.Tensor) -> torch.Tensor:
        """Bucket id of each value (int64, same shape as ``x``)."""
        return (x.unsqueeze(-1) >= self.edges.to(x.dtype)).sum(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One-hot ``[..., K]`` (float) of each (finite) value's bucket."""
        v = x.unsqueeze(-1)
        return ((v >= self.lower.to(x.dtype)) & (v < self.upper.to(x.dtype))).to(x.dtype)


def implied_vol_value(iv: torch.Tensor) -> torch.Tensor:
    """Annualized implied vol (decimal), negatives (missing) clipped to 0."""
    return torch.clamp(iv, min=0.0)


def realized_vol_value(
    price: torch.Tensor, window: int, bar_seconds: float, start: int = 0
) -> torch.Tensor:
    """Annualized realized vol (decimal) of 1-bar returns over ``window`` bars: prices
    ``[B, S, W]`` → ``[B, S, W − start]``."""
    scale = 1e-4 * float(TRADING_SECONDS_PER_YEAR / bar_seconds) ** 0.5
    rv: torch.Tensor = realized(price, (window,), start)[:, :, 0] * scale
    return rv


def relative_volume_value(
    volume: torch.Tensor, short: int, long: int, start: int = 0
) -> torch.Tensor:
    """Mean volume per bar over ``short`` bars / the mean over ``long`` bars (0 if none):
    ``[B, S, W]`` → ``[B, S, W − start]``."""
    means = rolling_means(torch.clamp(volume, min=0.0), (short, long), start)
    ratio: torch.Tensor = safe_div(means[:, :, 0], means[:, :, 1])
    return ratio
