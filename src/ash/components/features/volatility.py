"""Volatility family: ``realized_vol``, ``vol_of_vol`` and ``iv_rv_spread``."""

from __future__ import annotations

import torch
from pydantic import Field

from ash.components.features.base import ColumnFeatureBuilder, Lookbacks
from ash.components.ops import (
    BPS,
    flat,
    log_differences,
    rolling_counts,
    rolling_mean_var,
    rolling_sums,
    safe_log,
    tail,
)
from ash.interfaces import ComponentConfig, ModelContext

TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600


def realized(price: torch.Tensor, windows: tuple[int, ...], start: int = 0) -> torch.Tensor:
    """Root mean square of 1-bar returns over each window at positions ``start…``:
    ``[B, S, W]`` prices → ``[B, S, L, W − start]`` (bps per bar)."""
    d = log_differences(price)
    # mean((1e4·d)²) as Σd² / (count / 1e8): the bps scale folds into the constant divisor.
    counts = rolling_counts(price.shape[-1], windows, price, start) / (BPS * BPS)
    return torch.sqrt(torch.clamp(rolling_sums(d * d, windows, start) / counts, min=1e-12))


class RealizedVolConfig(ComponentConfig):
    windows: Lookbacks = Field((10, 60, 300), description="RV windows in bars.")
    price_column: str = Field("mid", description="Price column.")


class RealizedVol(ColumnFeatureBuilder[RealizedVolConfig]):
    """``rv_L``: realized volatility per bar (bps) over the last L bars (uncentred, as is usual
    for high-frequency returns)."""

    name = "realized_vol"

    def __init__(self, config: RealizedVolConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self.windows = config.windows
        self.price = config.price_column
        self.declare([self.price], [f"rv_{n}" for n in self.windows], max(self.windows))

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        p = self.columns(bars)
        return self.output(flat(realized(p, self.windows, self.first_position(bars))), bars)


class VolOfVolConfig(ComponentConfig):
    short_window: int = Field(
        30, ge=2, description="RV window (bars) whose variability is measured."
    )
    long_window: int = Field(300, ge=2, description="Window (bars) of the std of the short RV.")
    price_column: str = Field("mid", description="Price column.")


class VolOfVol(ColumnFeatureBuilder[VolOfVolConfig]):
    """``volvol``: std of the short-window RV over the long window; ``rv_ratio``: short/long RV."""

    name = "vol_of_vol"

    def __init__(self, config: VolOfVolConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self.short, self.long = config.short_window, config.long_window
        self.price = config.price_column
        tag = f"{self.short}_{self.long}"
        self.declare([self.price], [f"volvol_{tag}", f"rv_ratio_{tag}"], self.short + self.long)

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        start = self.first_position(bars)
        p = self.columns(bars)
        # The short RV at every position (the long window's std reads it), the rest from start.
        rv_short = realized(p, (self.short,))[:, 0]  # [B, 1, W]
        rv_long = realized(p, (self.long,), start)[:, 0]  # [B, 1, m]
        _, var = rolling_mean_var(rv_short, (self.long,), start)
        volvol = torch.sqrt(torch.clamp(var[:, :, 0], min=1e-12))
        logs = safe_log(torch.cat([tail(rv_short, start), rv_long], dim=1) + 1e-3)
        return self.output(torch.cat([volvol, logs[:, :1] - logs[:, 1:]], dim=1), bars)


class IvRvSpreadConfig(ComponentConfig):
    iv_column: str = Field("atm_iv_30d", description="Implied-vol column (annualized, decimal).")
    rv_window: int = Field(300, ge=2, description="Realized-vol window in bars.")
    price_column: str = Field("mid", description="Price column.")


class IvRvSpread(ColumnFeatureBuilder[IvRvSpreadConfig]):
    """``iv_rv_spread``: IV − annualized RV (vol points); ``iv_rv_log_ratio``: log(IV / RV)."""

    name = "iv_rv_spread"

    def __init__(self, config: IvRvSpreadConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self.iv, self.price, self.window = config.iv_column, config.price_column, config.rv_window
        self.annualize = 1e-4 * (TRADING_SECONDS_PER_YEAR / ctx.bar_seconds) ** 0.5
        self.declare([self.iv, self.price], ["iv_rv_spread", "iv_rv_log_ratio"], self.window)

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        start = self.first_position(bars)
        iv = torch.clamp(tail(self.columns(bars, [self.iv]), start), min=0.0)  # [B, 1, m]
        price = self.columns(bars, [self.price])
        rv = realized(price, (self.window,), start)[:, :, 0] * self.annualize
        logs = safe_log(torch.cat([iv, rv], dim=1) + 1e-3)
        return self.output(torch.cat([iv - rv, logs[:, :1] - logs[:, 1:]], dim=1), bars)
