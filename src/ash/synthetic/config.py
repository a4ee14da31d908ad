"""Parameters of the synthetic market, with the presets ``calm``, ``default`` and ``stressed``.

Every number the simulator and the oracle use lives here. A YAML block picks a preset and
overrides single fields: ``{kind: synthetic, preset: stressed, seed: 7}``; fields not given take
the preset's value, then the field default. Units are in the field names (``_s`` seconds,
``_bps`` basis points of log price).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Final, Literal

from pydantic import Field, field_validator, model_validator

from ash.interfaces import ComponentConfig

PresetName = Literal["calm", "default", "stressed"]

# The presets only change the market's character (volatility, regimes, jumps, activity); the
# structure (sessions, tick, options grid) stays the same.
PRESETS: Final[dict[str, dict[str, Any]]] = {
    "calm": {
        "annual_vol": 0.12,
        "regime_vol_mult": (0.8, 1.0, 1.6),
        "regime_mean_duration_s": (14400.0, 7200.0, 1200.0),
        "vol_of_vol": 0.15,
        "jump_rate_per_hour": (0.05, 0.1, 0.5),
        "trade_rate_per_s": 0.6,
    },
    "default": {},
    "stressed": {
        "annual_vol": 0.35,
        "regime_vol_mult": (0.8, 1.2, 2.5),
        "regime_mean_duration_s": (3600.0, 3600.0, 3600.0),
        "vol_of_vol": 0.35,
        "jump_rate_per_hour": (0.3, 1.0, 4.0),
        "jump_std_bps": 25.0,
        "overnight_std_bps": 150.0,
        "trade_rate_per_s": 1.5,
        "spread_vol_coef": 0.6,
    },
}

TRADING_SECONDS_PER_YEAR: Final[float] = 252 * 23_400.0  # annual_vol is quoted per 6.5 h session


def _f(default: Any, description: str, **kw: Any) -> Any:
    return Field(default=default, description=description, **kw)


class SyntheticConfig(ComponentConfig):
    """Configuration of the ``synthetic`` source (see docs/synthetic.md for the equations)."""

    preset: PresetName = _f("default", "Named parameter set; explicit fields override it.")
    seed: int = _f(0, "Seed of the whole market; same seed, same events.", ge=0)

    # calendar
    start_date: dt.date = _f(dt.date(2024, 1, 2), "First session (moved to a business day).")
    n_days: int = _f(10, "Number of business-day sessions simulated.", ge=1, le=2000)
    session_open: dt.time = _f(dt.time(9, 30), "Session open, America/New_York local time.")
    session_close: dt.time = _f(dt.time(16, 0), "Session close, America/New_York local time.")

    # instruments
    symbol: str = _f("SYN", "Name of the simulated stock.", min_length=1)
    start_price: float = _f(150.0, "Price of the stock at the first open.", gt=0)
    tick_size: float = _f(0.01, "Quote price increment (bid and ask lie on this lattice).", gt=0)

    # clocks
    fine_step_s: float = _f(0.1, "Step of the price/drift/quote grid (seconds).", gt=0, le=1)
    vol_step_s: float = _f(1.0, "Step of the volatility/regime/spread clock (seconds).", gt=0)

    # volatility
    annual_vol: float = _f(0.20, "Base volatility (annualized, regime 1, midday).", gt=0, lt=5)
    regime_vol_mult: tuple[float, ...] = _f(
        (0.75, 1.0, 2.0), "Volatility multiplier of each Markov regime."
    )
    regime_mean_duration_s: tuple[float, ...] = _f(
        (7200.0, 7200.0, 1800.0), "Mean sojourn of each regime in session seconds."
    )
    vol_half_life_s: float = _f(
        900.0, "Half-life of log-vol deviations from the regime level.", gt=0
    )
    vol_of_vol: float = _f(0.25, "Stationary std of log-vol around the regime level.", ge=0)
    slow_vol_half_life_days: float = _f(
        5.0, "Half-life of the slow log-vol factor, in sessions (carried overnight).", gt=0
    )
    slow_vol_std: float = _f(0.3, "Stationary std of the slow log-vol factor.", ge=0)
    open_vol_boost: float = _f(0.6, "Log-vol added at the open (U-shape), decaying.", ge=0)
    open_decay_s: float = _f(1800.0, "Decay time of the open boost (seconds).", gt=0)
    close_vol_boost: float = _f(0.35, "Log-vol added at the close (U-shape).", ge=0)
    close_decay_s: float = _f(1200.0, "Rise time of the close boost (seconds).", gt=0)
    overnight_std_bps: float = _f(60.0, "Std of the overnight log return (bps).", ge=0)
    overnight_vol_shock: float = _f(0.15, "Std of the overnight shock to log-vol.", ge=0)
    jump_rate_per_hour: tuple[float, ...] = _f(
        (0.1, 0.3, 2.0), "Price-jump intensity in each regime (per session hour)."
    )
    jump_std_bps: float = _f(12.0, "Std of one price jump (bps, Gaussian).", ge=0)

    # hidden drift (the short-horizon signal)
    drift_half_life_s: float = _f(20.0, "Half-life of the hidden OU drift (seconds).", ge=1)
    drift_std_bps_per_s: float = _f(0.08, "Stationary std of the drift (bps per second).", ge=0)

    # quotes
    spread_vol_coef: float = _f(
        0.4,
        "Expected extra spread ticks per unit of vol/base vol (spread = 1 + floor(c σ/σ₀ + U)).",
        ge=0,
    )
    max_spread_ticks: int = _f(8, "Cap of the quoted spread in ticks.", ge=1)
    quote_size_lots: float = _f(5.0, "Median displayed size (lots of 100).", gt=0)
    quote_size_imbalance: float = _f(
        2.0, "Book tilt toward the efficient price's position inside the spread.", ge=0
    )
    quote_refresh_per_s: float = _f(0.5, "Rate of size-only quote updates (per second).", ge=0)

    # trades
    trade_rate_per_s: float = _f(1.0, "Baseline trade-arrival intensity (immigrants per s).", gt=0)
    trade_vol_elasticity: float = _f(1.0, "Arrival intensity ∝ (σ/σ₀)^elasticity.", ge=0)
    hawkes_branching: float = _f(0.6, "Mean children per trade (self-excitation).", ge=0, lt=1)
    hawkes_decay_s: float = _f(3.0, "Mean delay of a child trade (seconds).", gt=0)
    trade_side_tilt: float = _f(0.8, "Logit of P(buy) per drift standard deviation.", ge=0)
    trade_size_tilt: float = _f(
        0.3, "Log size change per drift std in the trade's direction.", ge=0
    )
    size_pareto_alpha: float = _f(1.6, "Tail index of round-lot trade sizes.", gt=1)
    odd_lot_prob: float = _f(0.2, "Share of trades below 100 shares.", ge=0, le=1)

    # context symbol (market index) with lead-lag
    context_symbol: str | None = _f("IDX", "Correlated index that leads the stock; None: off.")
    context_start_price: float = _f(4000.0, "Index level at the first open.", gt=0)
    context_tick_size: float = _f(0.25, "Quote increment of the index.", gt=0)
    context_correlation: float = _f(
        0.4, "Correlation ρ of stock and lagged index moves (ρ² of the stock's variance)."
    )
    context_lag_s: float = _f(1.0, "The stock follows index moves after this lag (seconds).", ge=0)
    context_vol_mult: float = _f(0.8, "Index volatility relative to the stock's.", gt=0)
    context_trade_rate_mult: float = _f(0.5, "Index trade intensity relative to the stock's.", gt=0)

    # options chain
    options: bool = _f(True, "Simulate an options chain on the stock.")
    option_interval_s: float = _f(60.0, "Seconds between option-chain snapshots.", gt=0)
    option_tenors_days: tuple[int, ...] = _f((7, 30, 90), "Target days to expiry (Friday).")
    option_moneyness: tuple[float, ...] = _f(
        (0.90, 0.92, 0.94, 0.96, 0.98, 1.00, 1.02, 1.04, 1.06, 1.08, 1.10),
        "Strikes listed at these multiples of the day's opening price.",
    )
    strike_step: float = _f(1.0, "Strike increment.", gt=0)
    iv_skew: float = _f(0.08, "IV slope per unit of standardized log-moneyness (negative skew).")
    iv_smile: float = _f(0.02, "IV curvature per squared standardized log-moneyness.", ge=0)
    iv_noise: float = _f(0.03, "Relative noise of each expiry's ATM IV per snapshot.", ge=0)
    option_spread_frac: float = _f(0.04, "Option half-spread as a fraction of its price.", ge=0)
    option_volume_rate: float = _f(2.0, "Mean contracts per ATM option per snapshot.", ge=0)

    # oracle
    oracle_samples: int = _f(32, "Monte Carlo volatility paths per prediction (even).", ge=2)
    oracle_seed: int = _f(1234, "Seed of the oracle's Monte Carlo.", ge=0)
    oracle_max_jumps: int = _f(4, "Jumps per horizon summed exactly; the rest folds in.", ge=0)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        name = data.get("preset", "default")
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
        return {**PRESETS[name], **data}

    @field_validator("regime_vol_mult", "regime_mean_duration_s", "jump_rate_per_hour")
    @classmethod
    def _positive_tuple(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if len(v) == 0:
            raise ValueError("needs one value per regime (at least one)")
        if any(x < 0 for x in v):
            raise ValueError(f"values must be non-negative, got {v}")
        return v

    @field_validator("option_tenors_days")
    @classmethod
    def _tenors(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if len(v) == 0 or any(t < 1 for t in v) or list(v) != sorted(set(v)):
            raise ValueError(f"tenors must be increasing positive days, got {v}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> SyntheticConfig:
        n = len(self.regime_vol_mult)
        for name in ("regime_mean_duration_s", "jump_rate_per_hour"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"{name} has {len(getattr(self, name))} values but regime_vol_mult has {n}; "
                    "give one value per regime"
                )
        if n > 1 and min(self.regime_mean_duration_s) <= self.vol_step_s:
            raise ValueError("regime_mean_duration_s must exceed vol_step_s (a step's switch prob)")
        if any(m <= 0 for m in self.regime_vol_mult):
            raise ValueError(f"regime_vol_mult must be positive, got {self.regime_vol_mult}")
        ratio = self.vol_step_s / self.fine_step_s
        if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
            raise ValueError(
                f"vol_step_s ({self.vol_step_s}) must be a whole multiple of fine_step_s "
                f"({self.fine_step_s})"
            )
        if abs(self.fine_step_s * 1e9 - round(self.fine_step_s * 1e9)) > 1e-6:
            raise ValueError("fine_step_s must be a whole number of nanoseconds")
        length = self.session_seconds
        if length <= 0:
            raise ValueError(
                f"session_close ({self.session_close}) must be after session_open "
                f"({self.session_open})"
            )
        steps = length / self.vol_step_s
        if abs(steps - round(steps)) > 1e-9:
            raise ValueError(f"the session ({length} s) must be a whole number of vol_step_s")
        if self.context_symbol is not None:
            if self.context_symbol == self.symbol:
                raise ValueError("context_symbol must differ from symbol")
            if not 0 <= self.context_correlation < 1:
                raise ValueError("context_correlation must be in [0, 1)")
        if self.oracle_samples % 2:
            raise ValueError("oracle_samples must be even (antithetic pairs)")
        return self

    @property
    def session_seconds(self) -> float:
        open_s = self.session_open.hour * 3600 + self.session_open.minute * 60
        close_s = self.session_close.hour * 3600 + self.session_close.minute * 60
        open_s += self.session_open.second
        close_s += self.session_close.second
        return float(close_s - open_s)

    def fingerprint(self) -> str:
        """Stable hash of every field (the simulation cache key)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def preset(name: PresetName, **overrides: Any) -> SyntheticConfig:
    """A config from a named preset plus overrides."""
    return SyntheticConfig(preset=name, **overrides)
