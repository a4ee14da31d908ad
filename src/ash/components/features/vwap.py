"""``vwap_deviation``: the mid price against the bar VWAP and rolling VWAPs (bps)."""

from __future__ import annotations

import torch
from pydantic import Field

from ash.components.features.base import ColumnFeatureBuilder, Lookbacks
from ash.components.ops import BPS, finite, flat, rolling_sums
from ash.interfaces import ComponentConfig, ModelContext


class VwapConfig(ComponentConfig):
    lookbacks: Lookbacks = Field((30, 300), description="Rolling-VWAP windows in bars.")


class VwapDeviation(ColumnFeatureBuilder[VwapConfig]):
    """``vwap_bar_dev``: bar VWAP vs mid; ``vwap_dev_L``: mid vs the L-bar VWAP (0 if no volume).

    Sums of price × volume run in float64, where they lose nothing to the large price level.
    """

    signs: torch.Tensor
    name = "vwap_deviation"

    def __init__(self, config: VwapConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self.lookbacks = config.lookbacks
        names = ["vwap_bar_dev", *(f"vwap_dev_{n}" for n in self.lookbacks)]
        self.declare(["vwap", "volume", "mid"], names, max(self.lookbacks))
        signs = [BPS] + [-BPS] * len(self.lookbacks)  # bar_dev = vwap/mid, dev_L = mid/VWAP_L
        self.register_buffer("signs", torch.tensor(signs, dtype=torch.float64)[:, None], False)

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        start = self.first_position(bars)
        x = self.columns(bars)  # [B, 3, W]: vwap, volume, mid
        vwap = x[:, 0:1]
        # A bar counts when it traded at a positive VWAP.
        traded = torch.where(vwap > 0, torch.clamp(x[:, 1:2], min=0.0), 0.0)
        # One rolling pass, with a 1-bar window first: its sums are the bar's own value,
        # volume and mid, so the bar VWAP is the 1-bar "rolling" VWAP and no slicing is needed.
        series = torch.cat([vwap * traded, traded, x[:, 2:3]], dim=1)
        n = len(self.lookbacks) + 1
        rolled = flat(rolling_sums(series, (1, *self.lookbacks), start))  # [B, 3n, m]
        value, volume, mid = rolled[:, :n], rolled[:, n : 2 * n], rolled[:, 2 * n : 2 * n + 1]
        # bar VWAP vs mid, then mid vs each rolling VWAP: one Log, one signed scale. Without
        # volume (0/0) or without a valid mid (log of <= 0) the deviation is not finite, and
        # finite() makes it 0: the same as masking by volume > 0 and mid > 0, in three nodes.
        dev = (torch.log(value / volume) - torch.log(mid)) * self.signs.to(x.dtype)
        return self.output(finite(dev), bars)
