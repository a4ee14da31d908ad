"""``cross_asset``: context-symbol returns, rolling correlation and lead-lag correlation."""

from __future__ import annotations

import torch
from pydantic import Field

from ash.components.features.base import ColumnFeatureBuilder, Lookbacks
from ash.components.ops import BPS, finite, flat, lagged, log_differences, rolling_corr, tail
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
        start = self.first_position(bars)
        prices = self.columns(bars, [cfg.context_column, cfg.price_column])
        log_other = torch.log(prices[:, :1])  # [B, 1, W]
        moves = tail(log_other, start) - flat(lagged(log_other, cfg.return_lookbacks, start))
        r1 = BPS * log_differences(prices)  # [B, 2, W]: context, own
        r1_other, r1_own = r1[:, :1], r1[:, 1:]
        corr = rolling_corr(r1_own, r1_other, cfg.corr_windows, start)  # [B, 1, L, m]
        # Lead-lag: own r[t] against context r[t − k], every lag side by side as a series.
        led = lagged(r1_other, cfg.lead_lags)[:, 0]  # [B, K, W]
        lead = rolling_corr(r1_own, led, (cfg.lead_lag_window,), start)[:, :, 0]  # [B, K, m]
        features = [finite(BPS * moves), flat(corr), lead]
        return self.output(torch.cat(features, dim=1), bars)
