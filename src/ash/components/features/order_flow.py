"""``order_flow``: signed-volume imbalance over lookbacks and top-of-book quote imbalance."""

from __future__ import annotations

import torch
from pydantic import Field

from ash.components.features.base import ColumnFeatureBuilder, Lookbacks, stack
from ash.components.ops import rolling_mean, rolling_sum, safe_div
from ash.interfaces import ComponentConfig, ModelContext


class OrderFlowConfig(ComponentConfig):
    lookbacks: Lookbacks = Field((10, 60, 300), description="Windows in bars.")


class OrderFlow(ColumnFeatureBuilder[OrderFlowConfig]):
    """``flow_imb_L = Σ(buy − sell) / Σ(buy + sell)`` over L bars (0 without volume);
    ``quote_imb = (bid_size − ask_size) / (bid_size + ask_size)`` and its L-bar means."""

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

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        buy, sell, bid_size, ask_size = (
            torch.clamp(self.col(bars, c), min=0.0) for c in self.required_columns
        )
        signed, total = buy - sell, buy + sell
        flow = [safe_div(rolling_sum(signed, n), rolling_sum(total, n)) for n in self.lookbacks]
        quote = safe_div(bid_size - ask_size, bid_size + ask_size)
        return stack([*flow, quote, *(rolling_mean(quote, n) for n in self.lookbacks)])
