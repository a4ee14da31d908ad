"""``option_surface``: ATM IV levels, skew, smile curvature, term slope, greeks, put/call."""

from __future__ import annotations

import torch
from pydantic import Field

from ash.bars.columns import EXPIRY_BUCKETS
from ash.components.features.base import ColumnFeatureBuilder
from ash.components.ops import lagged, safe_log, signed_log, tail
from ash.interfaces import ComponentConfig, ModelContext

GREEKS = ("oi_delta", "oi_gamma", "oi_vega", "oi_theta")


class OptionSurfaceConfig(ComponentConfig):
    expiry: str = Field("30d", description="Expiry bucket for skew and curvature (7d/30d/90d).")
    iv_change_lookback: int = Field(60, ge=1, description="Bars for the ATM IV change.")


class OptionSurface(ColumnFeatureBuilder[OptionSurfaceConfig]):
    """Per bar: ``atm_iv_{7d,30d,90d}``, ``skew`` (IV 95 − IV 105), ``curvature``
    ((IV 90 + IV 110)/2 − IV 100), ``term_slope``, signed-log OI greeks, log put/call ratios,
    and the change of the chosen-expiry ATM IV over ``iv_change_lookback`` bars."""

    smile_weights: torch.Tensor
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
        self.iv_at = self.atm.index(f"atm_iv_{e}")
        # skew = IV 95 − IV 105, curvature = (IV 90 + IV 110)/2 − IV 100 over k090…k110.
        weights = [[0.0, 1.0, 0.0, -1.0, 0.0], [0.5, 0.0, -1.0, 0.0, 0.5]]
        self.register_buffer("smile_weights", torch.tensor(weights, dtype=torch.float64), False)

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        start = self.first_position(bars)
        # [B, 15, W] in declared order: 3 ATM IVs, 5 smile IVs, term slope, 4 greeks, 2 ratios.
        x = self.columns(bars)
        now = tail(x, start)
        smile = self.smile_weights.to(x.dtype) @ now[:, 3:8]  # skew, curvature: one MatMul
        iv = x[:, self.iv_at : self.iv_at + 1]
        out = [
            now[:, :3],
            smile,
            now[:, 8:9],
            signed_log(now[:, 9:13]),
            safe_log(now[:, 13:15] + 1e-3),
            tail(iv, start) - lagged(iv, (self.lookback,), start)[:, :, 0],
        ]
        return self.output(torch.cat(out, dim=1), bars)
