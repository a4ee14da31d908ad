"""``cross_asset``: context-symbol returns, rolling correlation and lead-lag correlation."""

from __future__ import annotations

import torch
from pydantic import Field

from ash.components.features.base import ColumnFeatureBuilder, Lookbacks, stack
from ash.components.ops import lag, log_return_bps, rolling_corr
from ash.interfaces import ComponentConfig, ModelContext


class CrossAssetConfig(ComponentConfig):
    context_column: str = Field("ctx_mid", description="Context symbol's price column.")
    price_column: str = Field("mid", description="Own price column.")
    return_lookbacks: Lookbacks = Field((1, 60), description="Context return lookbacks (bars).")
    corr_windows: Lookbacks = Field((60, 300), description="Rolling-correlation windows (bars).")
    lead_lags: Lookbacks = Field(
        (1, 5), description="Lags (bars) of the context return for lead-lag correlation."
    )
    lead_lag_window: int = Field(300, ge=2, description="Window (bars) of lead-lag correlation.")


class CrossAsset(ColumnFeatureBuilder[CrossAssetConfig]):
    """``ctx_ret_L``: context log return (bps); ``ctx_corr_N``: correlation of 1-bar returns over
    N bars; ``ctx_leadlag_k``: correlation of own r[t] with context r[t − k] (0 when flat)."""

    name = "cross_asset"

    def __init__(self, config: CrossAssetConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self.cfg = config
        names = [
            *(f"ctx_ret_{n}" for n in config.return_lookbacks),
            *(f"ctx_corr_{n}" for n in config.corr_windows),
            *(f"ctx_leadlag_{k}" for k in config.lead_lags),
        ]
        warmup = max(
            *config.return_lookbacks,
            *config.corr_windows,
            config.lead_lag_window + max(config.lead_lags),
        )
        self.declare([config.context_column, config.price_column], names, warmup)

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        other = self.col(bars, cfg.context_column)
        own = self.col(bars, cfg.price_column)
        r_other = log_return_bps(other, lag(other, 1))
        r_own = log_return_bps(own, lag(own, 1))
        out = [log_return_bps(other, lag(other, n)) for n in cfg.return_lookbacks]
        out += [rolling_corr(r_own, r_other, n) for n in cfg.corr_windows]
        out += [rolling_corr(r_own, lag(r_other, k), cfg.lead_lag_window) for k in cfg.lead_lags]
        return stack(out)
