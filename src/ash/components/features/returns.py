"""``returns``: log returns (bps) of a price column over several lookbacks."""

from __future__ import annotations

import torch
from pydantic import Field

from ash.components.features.base import ColumnFeatureBuilder, Lookbacks, stack
from ash.components.ops import lag, log_return_bps
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
        p = self.col(bars, self.price)
        return stack([log_return_bps(p, lag(p, n)) for n in self.lookbacks])
