"""The model's constants and transition laws, shared by the simulator and the oracle.

Both sides call these functions, so the oracle samples the future from exactly the law that
generated the data. Log prices are natural logs; ``σ`` is per square-root second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ash.synthetic.config import TRADING_SECONDS_PER_YEAR, SyntheticConfig

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

BPS = 1e-4


@dataclass(frozen=True)
class Dynamics:
    """Derived constants of a config (see docs/synthetic.md for the equations)."""

    dt: float  # fine step (s)
    fine_ns: int
    ratio: int  # fine steps per vol step
    vol_dt: float
    n_fine: int  # fine steps per session
    n_vol: int  # vol steps per session
    sigma0: float  # base vol per sqrt(s)
    regime_level: F64  # log-vol level of each regime
    transition: F64  # [R, R] per vol step
    transition_cdf: F64
    stationary: F64
    phi_h: float
    eta_h: float  # innovation std of log-vol per vol step
    vol_of_vol: float
    phi_slow: float  # slow log-vol factor AR per vol step
    eta_slow: float
    slow_std: float
    season: F64  # [n_vol] log-vol seasonality
    jump_rate: F64  # [R] per second
    jump_std: float  # log units
    phi_mu: float  # drift AR per fine step
    drift_std: float  # stationary std of drift (log per s)
    drift_innov: float  # innovation std per fine step
    spread_coef: float
    max_spread: int
    tick: float
    tick_index: float
    rho: float  # index share of variance (0 without index)
    ctx_beta: float  # loading of the stock on the lagged index increment
    ctx_vol_mult: float
    lag_steps: int

    @classmethod
    def from_config(cls, cfg: SyntheticConfig) -> Dynamics:
        dt = cfg.fine_step_s
        ratio = round(cfg.vol_step_s / dt)
        n_vol = round(cfg.session_seconds / cfg.vol_step_s)
        n_regimes = len(cfg.regime_vol_mult)
        transition = np.zeros((n_regimes, n_regimes))
        for i, duration in enumerate(cfg.regime_mean_duration_s):
            leave = cfg.vol_step_s / duration if n_regimes > 1 else 0.0
            transition[i, :] = leave / max(n_regimes - 1, 1)
            transition[i, i] = 1.0 - leave
        cdf = np.cumsum(transition, axis=1)
        cdf[:, -1] = 1.0
        evals, evecs = np.linalg.eig(transition.T)
        stat = np.real(evecs[:, np.argmin(np.abs(evals - 1.0))])
        stat = stat / stat.sum()
        phi_h = float(np.exp(-np.log(2) * cfg.vol_step_s / cfg.vol_half_life_s))
        slow_steps = cfg.slow_vol_half_life_days * cfg.session_seconds / cfg.vol_step_s
        phi_slow = float(np.exp(-np.log(2) / slow_steps))
        phi_mu = float(np.exp(-np.log(2) * dt / cfg.drift_half_life_s))
        drift_std = cfg.drift_std_bps_per_s * BPS
        t_mid = (np.arange(n_vol) + 0.5) * cfg.vol_step_s
        season = cfg.open_vol_boost * np.exp(-t_mid / cfg.open_decay_s) + cfg.close_vol_boost * (
            np.exp(-(cfg.session_seconds - t_mid) / cfg.close_decay_s)
        )
        ctx = cfg.context_symbol is not None
        rho = cfg.context_correlation if ctx else 0.0
        return cls(
            dt=dt,
            fine_ns=round(dt * 1e9),
            ratio=ratio,
            vol_dt=cfg.vol_step_s,
            n_fine=n_vol * ratio,
            n_vol=n_vol,
            sigma0=cfg.annual_vol / np.sqrt(TRADING_SECONDS_PER_YEAR),
            regime_level=np.log(np.asarray(cfg.regime_vol_mult, dtype=np.float64)),
            transition=transition,
            transition_cdf=cdf,
            stationary=np.clip(stat, 0.0, 1.0),
            phi_h=phi_h,
            eta_h=cfg.vol_of_vol * float(np.sqrt(1.0 - phi_h**2)),
            vol_of_vol=cfg.vol_of_vol,
            phi_slow=phi_slow,
            eta_slow=cfg.slow_vol_std * float(np.sqrt(1.0 - phi_slow**2)),
            slow_std=cfg.slow_vol_std,
            season=season,
            jump_rate=np.asarray(cfg.jump_rate_per_hour, dtype=np.float64) / 3600.0,
            jump_std=cfg.jump_std_bps * BPS,
            phi_mu=phi_mu,
            drift_std=drift_std,
            drift_innov=drift_std * float(np.sqrt(1.0 - phi_mu**2)),
            spread_coef=cfg.spread_vol_coef,
            max_spread=cfg.max_spread_ticks,
            tick=cfg.tick_size,
            tick_index=cfg.context_tick_size,
            rho=rho,
            ctx_beta=rho / cfg.context_vol_mult if ctx else 0.0,
            ctx_vol_mult=cfg.context_vol_mult,
            lag_steps=round(cfg.context_lag_s / dt) if ctx else 0,
        )

    # ---- volatility clock ----------------------------------------------------------------

    def next_regime(self, regime: I64, uniform: F64) -> I64:
        """Regime at the next vol step by inverse CDF of the transition row."""
        cdf = self.transition_cdf[regime]  # [..., R]
        nxt = (uniform[..., None] >= cdf).sum(axis=-1)
        out: I64 = np.minimum(nxt, len(self.regime_level) - 1).astype(np.int64)
        return out

    def next_logvol(self, h: F64, next_regime: I64, normal: F64) -> F64:
        """h' = m(r') + φ (h − m(r')) + η ε."""
        level = self.regime_level[next_regime]
        return level + self.phi_h * (h - level) + self.eta_h * normal

    def next_slow(self, slow: F64, normal: F64) -> F64:
        """Slow log-vol factor: s' = φ_s s + η_s ε."""
        return self.phi_slow * slow + self.eta_slow * normal

    def sigma(self, h: F64, slow: F64, vol_index: I64 | NDArray[np.intp]) -> F64:
        """σ at a vol step: σ₀ · exp(season + h + s)."""
        return self.sigma0 * np.exp(self.season[vol_index] + h + slow)

    def spread_lower(self, sigma: F64) -> tuple[I64, F64]:
        """Spread is ``a`` ticks w.p. ``1 − f`` and ``a + 1`` w.p. ``f`` (capped)."""
        v = self.spread_coef * sigma / self.sigma0
        a = 1 + np.floor(v)
        frac = v - np.floor(v)
        capped = a >= self.max_spread
        a = np.where(capped, self.max_spread, a)
        frac = np.where(capped, 0.0, frac)
        return a.astype(np.int64), frac

    def spread_ticks(self, sigma: F64, uniform: F64) -> I64:
        a, frac = self.spread_lower(sigma)
        return (a + (uniform < frac)).astype(np.int64)

    # ---- quote lattice ----------------------------------------------------------------


def half_tick_index(log_price: F64, spread: I64, tick: float) -> I64:
    """Mid in half ticks: bid tick ``k = round(S/tick − n/2)``, mid index ``q = 2k + n``."""
    k = np.round(np.exp(log_price) / tick - spread / 2.0)
    return (2 * k + spread).astype(np.int64)


def mid_price(q: I64 | F64, tick: float) -> F64:
    """Canonical float of the mid with half-tick index ``q`` (emitted quotes reproduce it)."""
    return np.round(np.asarray(q, dtype=np.float64) * (tick / 2.0), 10)


def tick_price(k: I64 | F64, tick: float) -> F64:
    """Canonical float of the price ``k`` ticks."""
    return np.round(np.asarray(k, dtype=np.float64) * tick, 10)


def ar1_filter(phi: float, x0: float, drive: F64) -> F64:
    """``y[0] = x0``, ``y[i+1] = φ y[i] + drive[i]``; returns ``y`` of length ``len(drive) + 1``.

    Blocked cumulative sums keep it vectorized while φ^(−block) stays far from overflow.
    """
    n = drive.shape[0]
    out = np.empty(n + 1)
    out[0] = x0
    if n == 0:
        return out
    if phi < 0.1:  # fast decay: blocks would be tiny, a plain loop is as quick and exact
        for i in range(n):
            out[i + 1] = phi * out[i] + drive[i]
        return out
    decay = -np.log(phi)
    block = int(np.clip(np.floor(20.0 / decay) if decay > 0 else n, 1, 4096))
    powers = phi ** np.arange(block + 1, dtype=np.float64)
    inv = 1.0 / powers[1:]  # φ^{-(i+1)}
    start = 0
    y = float(x0)
    while start < n:
        stop = min(start + block, n)
        m = stop - start
        # y[start+i+1] = φ^{i+1} y + Σ_{k≤i} φ^{i−k} d[k] = φ^{i+1}(y + Σ_{k≤i} φ^{−(k+1)} d[k])
        acc = np.cumsum(drive[start:stop] * inv[:m])
        vals = powers[1 : m + 1] * (y + acc)
        out[start + 1 : stop + 1] = vals
        y = float(vals[-1])
        start = stop
    return out


def utc_index(ns: I64) -> pd.DatetimeIndex:
    """UTC timestamps from int64 nanoseconds (no per-element parsing)."""
    return pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("datetime64[ns]")).tz_localize(
        "UTC"
    )
