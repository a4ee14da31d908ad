"""``order_flow``: signed-volume imbalance over lookbacks and top-of-book quote imbalance."""

from __future__ import annotations

import torch
from pydantic import Field

from ash.components.features.base import ColumnFeatureBuilder, Lookbacks
from ash.components.ops import flat, ratio_of_sums, rolling_counts, rolling_sums, tail
from ash.interfaces import ComponentConfig, ModelContext


class OrderFlowConfig(ComponentConfig):
    lookbacks: Lookbacks = Field((10, 60, 300), description="Windows in bars.")


class OrderFlow(ColumnFeatureBuilder[OrderFlowConfig]):
    """``flow_imb_L = Σ(buy − sell) / Σ(buy + sell)`` over L bars (0 without volume);
    ``quote_imb = (bid_size − ask_size) / (bid_size + ask_size)`` and its L-bar means."""

    mix: torch.Tensor

    name = "order_flow"

    def __init__(self, config: OrderFlowConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self.lookbacks = config.lookbacks
        names = [
            *(f"flow_imb_{n}" for n in self.lookbacks),
            "quote_imb",
            *(f"quote_imb_{n}" for n in self.lookbacks),
        ]
        columns = ["buy_volume", "sell_volume", "bid_size", "ask_size"]
        self.declare(columns, names, max(self.lookbacks))
        mix = [
            [1.0, -1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, -1.0],
            [0.0, 0.0, 1.0, 1.0],
        ]
        self.register_buffer("mix", torch.tensor(mix, dtype=torch.float64), persistent=False)

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        start = self.first_position(bars)
        x = torch.clamp(self.columns(bars), min=0.0)  # [B, 4, W]: buy, sell, bid, ask sizes
        # [buy − sell, buy + sell, bid − ask, bid + ask] in one constant MatMul (exact: ±1, 0).
        mixed = self.mix.to(x.dtype) @ x
        quote = ratio_of_sums(mixed[:, 2:3], mixed[:, 3:4])  # [B, 1, W]
        # One rolling pass for the flow numerator, its denominator and the quote imbalance.
        n = len(self.lookbacks)
        series = torch.cat([mixed[:, :2], quote], dim=1)
        rolled = flat(rolling_sums(series, self.lookbacks, start))  # [B, 3L, m]
        flow = ratio_of_sums(rolled[:, :n], rolled[:, n : 2 * n])
        counts = rolling_counts(x.shape[-1], self.lookbacks, x, start)
        features = [flow, tail(quote, start), rolled[:, 2 * n :] / counts]
        return self.output(torch.cat(features, dim=1), bars)
