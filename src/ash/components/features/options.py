"""``option_surface``: ATM IV levels, skew, smile curvature, term slope, greeks, put/call."""

from __future__ import annotations

import torch
from pydantic import Field

from ash.bars.columns import EXPIRY_BUCKETS
from ash.components.features.base import ColumnFeatureBuilder, stack
from ash.components.ops import lag, safe_log, signed_log
from ash.interfaces import ComponentConfig, ModelContext

GREEKS = ("oi_delta", "oi_gamma", "oi_vega", "oi_theta")


class OptionSurfaceConfig(ComponentConfig):
    expiry: str = Field("30d", description="Expiry bucket for skew and curvature (7d/30d/90d).")
    iv_change_lookback: int = Field(60, ge=1, description="Bars for the ATM IV change.")


class OptionSurface(ColumnFeatureBuilder[OptionSurfaceConfig]):
    """Per bar: ``atm_iv_{7d,30d,90d}``, ``skew`` (IV 95 − IV 105), ``curvature``
    ((IV 90 + IV 110)/2 − IV 100), ``term_slope``, signed-log OI greeks, log put/call ratios,
    and the change of the chosen-expiry ATM IV over ``iv_change_lookback`` bars."""

    name = "option_surface"

    def __init__(self, config: OptionSurfaceConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        if config.expiry not in EXPIRY_BUCKETS:
            raise ValueError(f"expiry must be one of {EXPIRY_BUCKETS}; got {config.expiry!r}")
        e = config.expiry
        self.expiry, self.lookback = e, config.iv_change_lookback
        self.atm = tuple(f"atm_iv_{x}" for x in EXPIRY_BUCKETS)
        self.smile = tuple(f"iv_{k}_{e}" for k in ("k090", "k095", "k100", "k105", "k110"))
        columns = [
            *self.atm,
            *self.smile,
            "term_slope",
            *GREEKS,
            "pc_volume_ratio",
            "pc_oi_ratio",
        ]
        names = [
            *self.atm,
            f"skew_{e}",
            f"curvature_{e}",
            "term_slope",
            *(f"log_{g}" for g in GREEKS),
            "log_pc_volume_ratio",
            "log_pc_oi_ratio",
            f"atm_iv_{e}_change_{self.lookback}",
        ]
        self.declare(columns, names, self.lookback)

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        atm = [self.col(bars, c) for c in self.atm]
        k090, k095, k100, k105, k110 = (self.col(bars, c) for c in self.smile)
        iv = self.col(bars, f"atm_iv_{self.expiry}")
        out = [
            *atm,
            k095 - k105,
            0.5 * (k090 + k110) - k100,
            self.col(bars, "term_slope"),
            *(signed_log(self.col(bars, g)) for g in GREEKS),
            safe_log(self.col(bars, "pc_volume_ratio") + 1e-3),
            safe_log(self.col(bars, "pc_oi_ratio") + 1e-3),
            iv - lag(iv, self.lookback),
        ]
        return stack(out)
