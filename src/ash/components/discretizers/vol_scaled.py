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
    add_sentinels,
    padded_grid,
    unit_grid,
)
from ash.components.ops import BPS, finite
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
    padded: torch.Tensor
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
        # The grid with 0 at both ends, where add_sentinels puts the sentinels (derived).
        self.register_buffer("padded", padded_grid(self.grid), persistent=False)

    def sigma_per_bar(self, bars: torch.Tensor) -> torch.Tensor:
        """Realized volatility per bar (bps) of each window: ``[B]``."""
        # Log differences in float64; a missing or non-positive price gives a 0 return.
        log_p = torch.log(bars[:, -(self.lookback + 1) :, self.price_index].double())
        r = finite(BPS * (log_p[:, 1:] - log_p[:, :-1]))
        return torch.sqrt(torch.mean(r * r, dim=1)).to(bars.dtype)

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        # σ·√h·(width per σ) folds into one constant per horizon; σ is always finite here.
        sigma = self.sigma_per_bar(bars).unsqueeze(1) * (
            self.sqrt_horizon_bars * self.width_per_sigma
        )
        width = torch.clamp(sigma, min=self.min_width, max=self.max_width)  # [B, H]
        return add_sentinels(width.unsqueeze(-1) * self.padded)
