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
from ash.components.ops import rolling_mean, rolling_sum, safe_div


class RegimeBucketizer(nn.Module):
    edges: torch.Tensor

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
        self.n_buckets = len(values) + 1

    def ids(self, x: torch.Tensor) -> torch.Tensor:
        """Bucket id of each value (int64, same shape as ``x``)."""
        return (x.unsqueeze(-1) >= self.edges.to(x.dtype)).sum(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One-hot ``[..., K]`` (float) of each value's bucket."""
        e = self.edges.to(x.dtype)
        above = (x.unsqueeze(-1) >= e).to(x.dtype)  # [..., K - 1]
        ones = torch.ones_like(x).unsqueeze(-1)
        zeros = torch.zeros_like(x).unsqueeze(-1)
        ge_low = torch.cat([ones, above], dim=-1)  # x >= lower edge of bucket k
        ge_high = torch.cat([above, zeros], dim=-1)  # x >= upper edge of bucket k
        return ge_low - ge_high


def implied_vol_value(iv: torch.Tensor) -> torch.Tensor:
    """Annualized implied vol (decimal), negatives (missing) clipped to 0."""
    return torch.clamp(iv, min=0.0)


def realized_vol_value(price: torch.Tensor, window: int, bar_seconds: float) -> torch.Tensor:
    """Annualized realized vol (decimal) of 1-bar returns over ``window`` bars."""
    scale = 1e-4 * float(TRADING_SECONDS_PER_YEAR / bar_seconds) ** 0.5
    rv: torch.Tensor = realized(price, window) * scale
    return rv


def relative_volume_value(volume: torch.Tensor, short: int, long: int) -> torch.Tensor:
    """Mean volume per bar over ``short`` bars / the mean over ``long`` bars (0 if none)."""
    v = torch.clamp(volume, min=0.0)
    ratio: torch.Tensor = safe_div(
        rolling_mean(v, short),
        rolling_sum(v, long)
        / torch.clamp(torch.cumsum(torch.ones_like(v), dim=1), max=float(long)),
    )
    return ratio
