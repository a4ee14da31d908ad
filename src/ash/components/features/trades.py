"""Trade family: ``trade_size`` statistics and ``arrival_rate`` / relative volume."""

from __future__ import annotations

import torch
from pydantic import Field

from ash.components.features.base import ColumnFeatureBuilder, Lookbacks
from ash.components.ops import flat, rolling_means, rolling_sums, safe_div
from ash.interfaces import ComponentConfig, ModelContext


class TradeSizeConfig(ComponentConfig):
    lookbacks: Lookbacks = Field((60, 300), description="Windows in bars.")
    baseline: int = Field(600, ge=2, description="Long window (bars) for the relative size.")


class TradeSize(ColumnFeatureBuilder[TradeSizeConfig]):
    """``log_trade_size_L = log(1 + Σvolume / Σtrades)`` over L bars (0 with no trades) and
    ``rel_trade_size_L`` = that minus the same over ``baseline`` bars."""

    name = "trade_size"

    def __init__(self, config: TradeSizeConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self.lookbacks, self.baseline = config.lookbacks, config.baseline
        names = [
            *(f"log_trade_size_{n}" for n in self.lookbacks),
            *(f"rel_trade_size_{n}" for n in self.lookbacks),
        ]
        self.declare(["volume", "trade_count"], names, max(*self.lookbacks, self.baseline))

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        start = self.first_position(bars)
        x = torch.clamp(self.columns(bars), min=0.0)  # [B, 2, W]: volume, trade count
        rolled = flat(rolling_sums(x, (*self.lookbacks, self.baseline), start))  # [B, 2L+2, m]
        n = len(self.lookbacks) + 1
        sizes = torch.log(1.0 + safe_div(rolled[:, :n], rolled[:, n:]))  # [B, L + 1, m]
        return self.output(torch.cat([sizes[:, :-1], sizes[:, :-1] - sizes[:, -1:]], 1), bars)


class ArrivalRateConfig(ComponentConfig):
    lookbacks: Lookbacks = Field((10, 60, 300), description="Windows in bars.")
    baseline: int = Field(600, ge=2, description="Long window (bars) for relative volume.")


class ArrivalRate(ColumnFeatureBuilder[ArrivalRateConfig]):
    """``log_arrival_L = log(1 + trades per second over L bars)`` and
    ``rel_volume_L = log((1 + volume/s over L) / (1 + volume/s over baseline))``."""

    name = "arrival_rate"

    def __init__(self, config: ArrivalRateConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self.lookbacks, self.baseline = config.lookbacks, config.baseline
        names = [
            *(f"log_arrival_{n}" for n in self.lookbacks),
            *(f"rel_volume_{n}" for n in self.lookbacks),
        ]
        self.declare(["trade_count", "volume"], names, max(*self.lookbacks, self.baseline))

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        start = self.first_position(bars)
        x = torch.clamp(self.columns(bars), min=0.0)  # [B, 2, W]: trade count, volume
        # Means over the bars actually covered, so short windows are rates too.
        windows = (*self.lookbacks, self.baseline)
        rates = rolling_means(x, windows, start) / self.ctx.bar_seconds
        logs = flat(torch.log(1.0 + rates))  # [B, 2L + 2, m]: counts' then volumes'
        n = len(self.lookbacks)
        arrivals, rel = logs[:, :n], logs[:, n + 1 : -1] - logs[:, -1:]
        return self.output(torch.cat([arrivals, rel], dim=1), bars)
