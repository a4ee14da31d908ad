"""``returns``: log returns (bps) of a price column over several lookbacks."""

from __future__ import annotations

import torch
from pydantic import Field

from ash.components.features.base import ColumnFeatureBuilder, Lookbacks
from ash.components.ops import BPS, finite, flat, lagged, tail
from ash.interfaces import ComponentConfig, ModelContext


class ReturnsConfig(ComponentConfig):
    lookbacks: Lookbacks = Field((1, 5, 15, 60, 300), description="Lookbacks in bars.")
    price_column: str = Field("mid", description="Price column (mid avoids bid-ask bounce).")


class Returns(ColumnFeatureBuilder[ReturnsConfig]):
    """``ret_L[t] = 1e4·log(p[t] / p[t − L])``; before ``L`` bars exist, ``p[0]`` stands in."""

    name = "returns"

    def __init__(self, config: ReturnsConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self.lookbacks = config.lookbacks
        self.price = config.price_column
        self.declare([self.price], [f"ret_{n}" for n in self.lookbacks], max(self.lookbacks))

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        # Every lookback at once: one Gather of lagged log prices; a bad price (<= 0, missing)
        # makes its log non-finite, and finite() turns those returns into 0.
        start = self.first_position(bars)
        log_p = torch.log(self.columns(bars))  # [B, 1, W]
        returns = BPS * (tail(log_p, start) - flat(lagged(log_p, self.lookbacks, start)))
        return self.output(finite(returns), bars)  # [B, L, m] → [B, W, L]
