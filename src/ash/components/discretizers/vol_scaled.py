"""``vol_scaled``: edges proportional to the window's realized volatility, computed in-graph.

σ per bar is the root mean square of 1-bar log returns of ``price_column`` over the last
``lookback_bars`` of the window; at horizon ``h`` bars the scale is σ·√h. The K − 2 inner buckets
span ±``range_sigmas``·σ·√h. The width is floored at ``min_width_bps`` (a quiet window must not
produce sub-tick, empty-by-construction buckets) and capped so inner edges stay far from the
sentinels.
"""

from __future__ import annotations

import torch
from pydantic import Field

from ash.components.discretizers.base import (
    OUTER_EDGE_BPS,
    EdgeDiscretizer,
    SymmetricConfig,
    unit_grid,
    with_sentinels,
)
from ash.components.ops import log_return_bps
from ash.interfaces import ModelContext


class VolScaledConfig(SymmetricConfig):
    range_sigmas: float = Field(
        6.0, gt=0, description="Half-range of the inner edges in units of σ·√h."
    )
    lookback_bars: int = Field(300, ge=2, description="Bars used to measure realized volatility.")
    min_width_bps: float = Field(0.5, ge=0, description="Floor on the bucket width (bps).")
    price_column: str = Field("mid", description="Bar column whose returns define volatility.")


class VolScaledDiscretizer(EdgeDiscretizer[VolScaledConfig]):
    """Window-dependent edges: a centred uniform grid scaled by realized volatility."""

    sqrt_horizon_bars: torch.Tensor
    grid: torch.Tensor
    name = "vol_scaled"

    def __init__(self, config: VolScaledConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self.price_index = ctx.column(config.price_column)
        self.lookback = config.lookback_bars
        self.min_window = config.lookback_bars + 1
        k = config.n_buckets
        self.min_width = config.min_width_bps
        self.max_width = OUTER_EDGE_BPS / (k - 2)  # inner edges within ±sentinel/2
        self.width_per_sigma = 2.0 * config.range_sigmas / (k - 2)
        sqrt_h = torch.tensor([float(b) ** 0.5 for b in ctx.horizon_bars()])
        self.register_buffer("sqrt_horizon_bars", sqrt_h.float())
        self.register_buffer("grid", unit_grid(k).float())

    def sigma_per_bar(self, bars: torch.Tensor) -> torch.Tensor:
        """Realized volatility per bar (bps) of each window: ``[B]``."""
        price = bars[:, -(self.lookback + 1) :, self.price_index]
        r = log_return_bps(price[:, 1:], price[:, :-1])
        return torch.sqrt(torch.mean(r * r, dim=1))

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        sigma = self.sigma_per_bar(bars).unsqueeze(1) * self.sqrt_horizon_bars  # [B, H]
        width = torch.clamp(sigma * self.width_per_sigma, min=self.min_width, max=self.max_width)
        width = torch.nan_to_num(width, nan=self.min_width)
        return with_sentinels(width.unsqueeze(-1) * self.grid)
