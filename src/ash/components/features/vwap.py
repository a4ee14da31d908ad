"""``vwap_deviation``: the mid price against the bar VWAP and rolling VWAPs (bps)."""

from __future__ import annotations

import torch
from pydantic import Field

from ash.components.features.base import ColumnFeatureBuilder, Lookbacks, stack
from ash.components.ops import bps_from_diff, rolling_sum, safe_div
from ash.interfaces import ComponentConfig, ModelContext


class VwapConfig(ComponentConfig):
    lookbacks: Lookbacks = Field((30, 300), description="Rolling-VWAP windows in bars.")


class VwapDeviation(ColumnFeatureBuilder[VwapConfig]):
    """``vwap_bar_dev``: bar VWAP vs mid; ``vwap_dev_L``: mid vs the L-bar VWAP (0 if no volume).

    Rolling sums run on ``vwap − c`` with ``c`` the window's first mid, so float32 sums of
    price × volume do not swamp the small deviation (the result does not depend on ``c``).
    """

    name = "vwap_deviation"

    def __init__(self, config: VwapConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self.lookbacks = config.lookbacks
        names = ["vwap_bar_dev", *(f"vwap_dev_{n}" for n in self.lookbacks)]
        self.declare(["vwap", "volume", "mid"], names, max(self.lookbacks))

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        vwap, volume, mid = (self.col(bars, c) for c in ("vwap", "volume", "mid"))
        volume = torch.clamp(volume, min=0.0)
        has_volume = (volume > 0) & (vwap > 0)
        bar_dev = torch.where(has_volume, bps_from_diff(vwap - mid, mid), torch.zeros_like(mid))
        c = mid[:, :1]
        weighted = torch.where(has_volume, (vwap - c) * volume, torch.zeros_like(mid))
        traded = torch.where(has_volume, volume, torch.zeros_like(mid))
        out = [bar_dev]
        for n in self.lookbacks:
            offset = safe_div(rolling_sum(weighted, n), rolling_sum(traded, n))  # VWAP − c
            dev = bps_from_diff((mid - c) - offset, c + offset)
            out.append(torch.where(rolling_sum(traded, n) > 0, dev, torch.zeros_like(dev)))
        return stack(out)
