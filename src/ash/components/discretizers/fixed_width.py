"""``fixed_width``: buckets of a fixed width in *price* units (ticks), converted to bps in-graph.

The width is set in ticks at ``ref_horizon_s`` and scaled with the horizon, then snapped to an odd
number of half ticks: mid prices move on a half-tick lattice and the grid's edges sit at ±½ width,
±1½ width, …, so an odd number of half ticks keeps every edge strictly *between* lattice points
(a return is never exactly on an edge) and 0 in the middle of the central bucket. Edges in bps are
``1e4·log(1 + e/p)`` with ``p`` the last bar's reference price, floored so the widest edge is at
most half the price (edges stay far inside the sentinels even on a broken price).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from ash.components.discretizers.base import (
    EdgeDiscretizer,
    SymmetricConfig,
    add_sentinels,
    horizon_factor,
    padded_grid,
    unit_grid,
)
from ash.components.ops import BPS, log1p_accurate
from ash.interfaces import ModelContext


class FixedWidthConfig(SymmetricConfig):
    tick_size: float = Field(0.01, gt=0, description="Price tick (currency units).")
    width_ticks: float = Field(1.5, gt=0, description="Bucket width in ticks at ref_horizon_s.")
    ref_horizon_s: float = Field(60.0, gt=0, description="Horizon (s) at which width_ticks holds.")
    scaling: Literal["sqrt", "linear", "none"] = Field(
        "sqrt", description="How the width grows with the horizon."
    )
    min_width_ticks: float = Field(0.5, gt=0, description="Floor on the width (ticks).")
    price_column: str = Field("mid", description="Reference price column (last bar).")


def snap_to_odd_half_ticks(width_ticks: float) -> float:
    """Nearest odd multiple of half a tick (at least one half tick)."""
    halves = max(1, round((width_ticks / 0.5 - 1.0) / 2.0) * 2 + 1)
    return 0.5 * halves


class FixedWidthDiscretizer(EdgeDiscretizer[FixedWidthConfig]):
    """Static price-unit buckets, mapped to bps through the last bar's price."""

    inner_price_edges: torch.Tensor
    price_edges: torch.Tensor
    name = "fixed_width"

    def __init__(self, config: FixedWidthConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self.price_index = ctx.column(config.price_column)
        widths = [
            config.tick_size
            * snap_to_odd_half_ticks(
                max(
                    config.min_width_ticks,
                    config.width_ticks * horizon_factor(h, config.ref_horizon_s, config.scaling),
                )
            )
            for h in ctx.horizons
        ]
        inner = torch.stack([unit_grid(config.n_buckets) * w for w in widths]).float()
        self.register_buffer("inner_price_edges", inner)  # [H, K - 1] currency units
        self.min_price = float(inner.abs().max()) * 2.0
        # Derived: [H, K + 1] with 0 at the two outer positions (the sentinels go there).
        self.register_buffer("price_edges", padded_grid(inner), persistent=False)

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        price = bars[:, -1:, self.price_index : self.price_index + 1]  # [B, 1, 1]
        price = torch.clamp(torch.where(torch.isnan(price), 0.0, price), self.min_price, 1e7)
        return add_sentinels(BPS * log1p_accurate(self.price_edges / price))
