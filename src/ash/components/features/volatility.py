"""Volatility family: ``realized_vol``, ``vol_of_vol`` and ``iv_rv_spread``."""

from __future__ import annotations

import torch
from pydantic import Field

from ash.components.features.base import ColumnFeatureBuilder, Lookbacks, stack
from ash.components.ops import lag, log_return_bps, rolling_mean, rolling_std, safe_log
from ash.interfaces import ComponentConfig, ModelContext

TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600


def bar_returns(price: torch.Tensor) -> torch.Tensor:
    """1-bar log returns (bps); 0 at the first position."""
    return log_return_bps(price, lag(price, 1))


def realized(price: torch.Tensor, window: int) -> torch.Tensor:
    """Root mean square of 1-bar returns over ``window`` bars (bps per bar)."""
    r = bar_returns(price)
    return torch.sqrt(torch.clamp(rolling_mean(r * r, window), min=1e-12))


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
        p = self.col(bars, self.price)
        return stack([realized(p, n) for n in self.windows])


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
        p = self.col(bars, self.price)
        rv_short = realized(p, self.short)
        rv_long = realized(p, self.long)
        volvol = rolling_std(rv_short, self.long)
        ratio = safe_log(rv_short + 1e-3) - safe_log(rv_long + 1e-3)
        return stack([volvol, ratio])


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
        iv = torch.clamp(self.col(bars, self.iv), min=0.0)
        rv = realized(self.col(bars, self.price), self.window) * self.annualize
        return stack([iv - rv, safe_log(iv + 1e-3) - safe_log(rv + 1e-3)])
