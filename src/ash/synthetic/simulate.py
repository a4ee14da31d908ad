"""Latent processes of the synthetic market, one session at a time (:mod:`ash.synthetic.simulator`
caches them and draws the observable events).

A session is simulated from the previous session's closing state plus an overnight jump. Every
random stream is seeded by ``(seed, day, stream)``, so the latent path never depends on the
parameters of the observables drawn from it, and a session is the same whoever asks for it.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ash.synthetic.config import SyntheticConfig
from ash.synthetic.dynamics import F64, I64, Dynamics, ar1_filter, half_tick_index

EXCHANGE_TZ = "America/New_York"

# Independent random streams of one session.
STREAM_INIT, STREAM_VOL, STREAM_PRICE, STREAM_INDEX, STREAM_JUMPS = 0, 1, 2, 3, 4
STREAM_QUOTES, STREAM_TRADES, STREAM_INDEX_TICKS, STREAM_OPTIONS = 5, 6, 7, 8
STREAM_SLOW = 9

EVENT_FRAMES_KEPT = 6


def rng_for(seed: int, day: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(day, stream)))


def session_opens_ns(cfg: SyntheticConfig) -> tuple[list[dt.date], np.ndarray]:
    """Business days from ``start_date`` and each session's open in UTC nanoseconds."""
    days = pd.bdate_range(start=pd.Timestamp(cfg.start_date), periods=cfg.n_days)
    opens = [
        pd.Timestamp.combine(d.date(), cfg.session_open).tz_localize(EXCHANGE_TZ).tz_convert("UTC")
        for d in days
    ]
    return [d.date() for d in days], np.array([o.value for o in opens], dtype=np.int64)


@dataclass(frozen=True)
class Carry:
    """State handed from one session's close to the next session's open."""

    x: float  # stock log efficient price
    h: float  # log-vol deviation
    slow: float  # slow log-vol factor
    regime: int
    mu: float  # hidden drift (log per second)
    x_index: float  # index log efficient price


@dataclass(frozen=True)
class LatentDay:
    """The full latent state of one session on the fine grid (index ``j``) and vol grid (``c``).

    The quote at fine step ``j`` is stamped ``open + (j + ½)·dt`` and shows the state at ``j``.
    """

    day: int
    open_ns: int
    x: F64  # [J] stock log efficient price
    mu: F64  # [J] hidden drift (log per second)
    q: I64  # [J] stock mid in half ticks
    h: F64  # [C] log-vol deviation
    slow: F64  # [C] slow log-vol factor
    regime: I64  # [C]
    sigma: F64  # [C] per sqrt(s)
    spread: I64  # [C] quoted spread in ticks
    x_index: F64 | None  # [J] index log efficient price
    q_index: I64 | None  # [J] index mid in half ticks
    spread_index: I64 | None  # [C]


def _regime_path(dyn: Dynamics, r0: int, uniforms: F64) -> I64:
    cdf_rows = [list(row) for row in dyn.transition_cdf]
    path = np.empty(uniforms.shape[0] + 1, dtype=np.int64)
    r = r0
    path[0] = r
    last = len(cdf_rows) - 1
    for i, u in enumerate(uniforms.tolist()):
        # same inverse-CDF rule as Dynamics.next_regime: count of cdf entries <= u
        r = min(bisect.bisect_right(cdf_rows[r], u), last)
        path[i + 1] = r
    return path


def initial_carry(cfg: SyntheticConfig, dyn: Dynamics) -> Carry:
    rng = rng_for(cfg.seed, 0, STREAM_INIT)
    regime = int(rng.choice(len(dyn.stationary), p=dyn.stationary))
    return Carry(
        x=float(np.log(cfg.start_price)),
        h=float(dyn.regime_level[regime] + dyn.vol_of_vol * rng.standard_normal()),
        slow=float(dyn.slow_std * rng.standard_normal()),
        regime=regime,
        mu=float(dyn.drift_std * rng.standard_normal()),
        x_index=float(np.log(cfg.context_start_price)),
    )


def overnight(cfg: SyntheticConfig, dyn: Dynamics, prev: Carry, day: int) -> Carry:
    """Overnight: a return jump (partly shared with the index) and a log-vol shock."""
    rng = rng_for(cfg.seed, day, STREAM_INIT)
    z_idx, z_own, z_vol, z_mu = rng.standard_normal(4)
    std = cfg.overnight_std_bps * 1e-4
    ret_idx = std * cfg.context_vol_mult * z_idx
    ret = dyn.ctx_beta * ret_idx + std * np.sqrt(1.0 - dyn.rho**2) * z_own
    return Carry(
        x=prev.x + float(ret),
        h=prev.h + cfg.overnight_vol_shock * float(z_vol),
        slow=prev.slow,
        regime=prev.regime,
        mu=float(dyn.drift_std * z_mu),
        x_index=prev.x_index + float(ret_idx),
    )


def simulate_latent(
    cfg: SyntheticConfig, dyn: Dynamics, day: int, open_ns: int, start: Carry
) -> tuple[LatentDay, Carry]:
    """Simulate one session's latent paths from its opening state."""
    J, C, R, dt_ = dyn.n_fine, dyn.n_vol, dyn.ratio, dyn.dt
    rv = rng_for(cfg.seed, day, STREAM_VOL)
    regime = _regime_path(dyn, start.regime, rv.random(C - 1))
    level = dyn.regime_level[regime[1:]]
    h = ar1_filter(
        dyn.phi_h, start.h, (1 - dyn.phi_h) * level + dyn.eta_h * rv.standard_normal(C - 1)
    )
    rs = rng_for(cfg.seed, day, STREAM_SLOW)
    slow = ar1_filter(dyn.phi_slow, start.slow, dyn.eta_slow * rs.standard_normal(C - 1))
    c_index = np.arange(C)
    sigma = dyn.sigma(h, slow, c_index)
    spread = dyn.spread_ticks(sigma, rv.random(C))
    sig_fine = np.repeat(sigma, R)  # σ of the vol step containing fine step i

    # index (leader): driftless, vol = vol_mult · σ
    ctx = cfg.context_symbol is not None
    x_index: F64 | None = None
    d_index = np.zeros(J)
    if ctx:
        ri = rng_for(cfg.seed, day, STREAM_INDEX)
        d_index = dyn.ctx_vol_mult * sig_fine * np.sqrt(dt_) * ri.standard_normal(J)
        x_index = start.x_index + np.concatenate(([0.0], np.cumsum(d_index[:-1])))

    rp = rng_for(cfg.seed, day, STREAM_PRICE)
    mu = ar1_filter(dyn.phi_mu, start.mu, dyn.drift_innov * rp.standard_normal(J))[:J]
    noise = sig_fine * np.sqrt(dt_ * (1.0 - dyn.rho**2)) * rp.standard_normal(J)
    lagged = np.zeros(J)
    L = dyn.lag_steps
    if ctx:
        lagged[L:] = dyn.ctx_beta * d_index[: J - L]
    rj = rng_for(cfg.seed, day, STREAM_JUMPS)
    lam = dyn.jump_rate[np.repeat(regime, R)] * dt_
    counts = rj.poisson(lam)
    jumps = np.sqrt(counts) * dyn.jump_std * rj.standard_normal(J)
    dx = mu * dt_ + noise + lagged + jumps  # dx[i]: from fine step i to i + 1
    x = start.x + np.concatenate(([0.0], np.cumsum(dx[:-1])))
    spread_fine = np.repeat(spread, R)
    q = half_tick_index(x, spread_fine, dyn.tick)

    q_index = spread_index = None
    if ctx and x_index is not None:
        spread_index = np.ones(C, dtype=np.int64)  # the index quotes one tick wide
        q_index = half_tick_index(x_index, np.ones(J, dtype=np.int64), dyn.tick_index)
    latent = LatentDay(
        day=day,
        open_ns=open_ns,
        x=x,
        mu=mu,
        q=q,
        h=h,
        slow=slow,
        regime=regime,
        sigma=sigma,
        spread=spread,
        x_index=x_index,
        q_index=q_index,
        spread_index=spread_index,
    )
    end = Carry(
        x=float(x[-1]),
        h=float(h[-1]),
        slow=float(slow[-1]),
        regime=int(regime[-1]),
        mu=float(mu[-1]),
        x_index=float(x_index[-1]) if x_index is not None else start.x_index,
    )
    return latent, end
