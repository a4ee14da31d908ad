"""Trade family: ``trade_size`` statistics and ``arrival_rate`` / relative volume."""

from __future__ import annotations

import torch
from pydantic import Field

from ash.components.features.base import ColumnFeatureBuilder, Lookbacks, stack
from ash.components.ops import rolling_sum, safe_div
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

    def _log_size(self, volume: torch.Tensor, count: torch.Tensor, n: int) -> torch.Tensor:
        return torch.log(1.0 + safe_div(rolling_sum(volume, n), rolling_sum(count, n)))

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        volume = torch.clamp(self.col(bars, "volume"), min=0.0)
        count = torch.clamp(self.col(bars, "trade_count"), min=0.0)
        sizes = [self._log_size(volume, count, n) for n in self.lookbacks]
        base = self._log_size(volume, count, self.baseline)
        return stack([*sizes, *(s - base for s in sizes)])


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

    def _per_second(self, x: torch.Tensor, n: int) -> torch.Tensor:
        # Divide by the bars actually covered so warm-up values are rates too.
        covered = torch.clamp(torch.cumsum(torch.ones_like(x), dim=1), max=float(n))
        return rolling_sum(x, n) / (covered * self.ctx.bar_seconds)

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        count = torch.clamp(self.col(bars, "trade_count"), min=0.0)
        volume = torch.clamp(self.col(bars, "volume"), min=0.0)
        base = torch.log(1.0 + self._per_second(volume, self.baseline))
        arrivals = [torch.log(1.0 + self._per_second(count, n)) for n in self.lookbacks]
        rel = [torch.log(1.0 + self._per_second(volume, n)) - base for n in self.lookbacks]
        return stack([*arrivals, *rel])
