"""Option-chain snapshots whose implied volatilities forecast the simulator's future variance.

ATM implied variance of an expiry is the model's expected integrated variance from the snapshot
to the expiry (vol-regime chain and log-vol AR projected forward, average intraday seasonality,
overnight gaps, jumps), annualized, times lognormal noise. Strikes get a skew and a smile in
standardized log-moneyness; prices and greeks are Black–Scholes with zero rates.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import torch

from ash.data.schema import OPTIONS
from ash.synthetic.config import SyntheticConfig
from ash.synthetic.dynamics import F64, Dynamics, mid_price, utc_index
from ash.synthetic.simulate import EXCHANGE_TZ, STREAM_OPTIONS, LatentDay, rng_for

SECONDS_PER_YEAR = 365.0 * 86_400.0
OPTION_TICK = 0.01
LAG_GRID_POINTS = 240


def norm_cdf(x: F64) -> F64:
    out: F64 = torch.special.ndtr(torch.from_numpy(np.ascontiguousarray(x, np.float64))).numpy()
    return out


def norm_pdf(x: F64) -> F64:
    return np.asarray(np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi))


def expiry_date(day: dt.date, tenor_days: int) -> dt.date:
    """First Friday on or after ``day + tenor_days``."""
    target = day + dt.timedelta(days=tenor_days)
    return target + dt.timedelta(days=(4 - target.weekday()) % 7)


def _mean_logvar_path(dyn: Dynamics, lags: F64) -> tuple[F64, F64, F64]:
    """For lags τ (vol steps): φ^τ, the regime part G_τ[r] of E[h_τ], and Var[h_τ].

    ``E[h_τ | h, r] = φ^τ h + (1 − φ) Σ_{i=1..τ} φ^{τ−i} (P^i m)[r]`` in closed form through
    the eigen-decomposition of the transition matrix ``P``.
    """
    phi = dyn.phi_h
    lam, vec = np.linalg.eig(dyn.transition)
    coef = np.linalg.solve(vec, dyn.regime_level.astype(np.complex128))  # m = V c
    lam_c = lam[None, :]
    tau = lags[:, None]
    denom = phi - lam_c
    small = np.abs(denom) < 1e-12
    safe = np.where(small, 1.0, denom)
    geo = np.where(
        small, tau * phi ** np.maximum(tau - 1, 0) * lam_c, lam_c * (phi**tau - lam_c**tau) / safe
    )
    # G_τ[r] = (1 − φ) Σ_l V[r, l] c_l geo_l(τ)
    g = (1.0 - phi) * np.real((geo * coef[None, :]) @ vec.T)  # [n_lags, R]
    var = dyn.vol_of_vol**2 * (1.0 - phi ** (2.0 * lags))
    return phi**lags, g, var


def expected_variance(
    cfg: SyntheticConfig, dyn: Dynamics, h: F64, slow: F64, regime: F64, trading_s: F64
) -> F64:
    """Expected integrated diffusion+jump variance over the next ``trading_s`` session seconds.

    ``h``/``regime`` are ``[n]`` states; ``trading_s`` is ``[n, E]``; returns ``[n, E]``.
    """
    horizon = float(trading_s.max()) / dyn.vol_dt
    lags = np.concatenate(([0.0], np.geomspace(1.0, max(horizon, 2.0), LAG_GRID_POINTS)))
    decay, g, var = _mean_logvar_path(dyn, lags)
    season = float(np.mean(np.exp(2.0 * dyn.season)))
    reg = regime.astype(np.int64)
    logv = 2.0 * (decay[None, :] * h[:, None] + g[:, reg].T + var[None, :])
    slow_decay = dyn.phi_slow**lags
    slow_var = dyn.slow_std**2 * (1.0 - slow_decay**2)
    logv = logv + 2.0 * (slow_decay[None, :] * slow[:, None] + slow_var[None, :])
    rate = dyn.sigma0**2 * season * np.exp(logv)  # [n, lags] per second
    jump = float(np.dot(dyn.stationary, dyn.jump_rate)) * dyn.jump_std**2
    rate = rate + jump
    steps = np.diff(lags) * dyn.vol_dt
    cum = np.concatenate(
        (np.zeros((len(h), 1)), np.cumsum(0.5 * (rate[:, 1:] + rate[:, :-1]) * steps, axis=1)),
        axis=1,
    )
    secs = lags * dyn.vol_dt
    out = np.empty_like(trading_s)
    for i in range(len(h)):
        out[i] = np.interp(trading_s[i], secs, cum[i])
    return out


def chain_frame(
    cfg: SyntheticConfig, dyn: Dynamics, lat: LatentDay, date: dt.date, symbol: str
) -> pd.DataFrame:
    """Option snapshots every ``option_interval_s`` of one session (stamped ½ fine step early)."""
    if symbol != cfg.symbol:
        raise KeyError(f"only {cfg.symbol} has an options chain, not {symbol!r}")
    rng = rng_for(cfg.seed, lat.day, STREAM_OPTIONS)
    length = cfg.session_seconds
    n_snap = int(np.floor(length / cfg.option_interval_s + 1e-9))
    if n_snap < 1:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in OPTIONS.items()})
    t_off = np.arange(1, n_snap + 1) * cfg.option_interval_s
    j = np.minimum(np.round(t_off / dyn.dt).astype(np.int64) - 1, dyn.n_fine - 1)
    c = j // dyn.ratio
    spot = mid_price(lat.q[j], cfg.tick_size)
    ts_ns = lat.open_ns + j * dyn.fine_ns + dyn.fine_ns // 2

    expiries = [expiry_date(date, t) for t in cfg.option_tenors_days]
    close = cfg.session_close
    exp_ns = np.array(
        [
            pd.Timestamp.combine(e, close).tz_localize(EXCHANGE_TZ).tz_convert("UTC").value
            for e in expiries
        ],
        dtype=np.int64,
    )
    sessions_after = np.array(
        [len(pd.bdate_range(date + dt.timedelta(days=1), e)) for e in expiries], dtype=np.float64
    )
    trading_s = (length - t_off)[:, None] + sessions_after[None, :] * length
    years = (exp_ns[None, :] - ts_ns[:, None]) / 1e9 / SECONDS_PER_YEAR
    total_var = expected_variance(
        cfg, dyn, lat.h[c], lat.slow[c], lat.regime[c].astype(np.float64), trading_s
    )
    total_var = total_var + sessions_after[None, :] * (cfg.overnight_std_bps * 1e-4) ** 2
    noise = np.exp(cfg.iv_noise * rng.standard_normal(total_var.shape) - 0.5 * cfg.iv_noise**2)
    atm = np.sqrt(total_var / years) * noise  # [n_snap, E]

    open_price = float(mid_price(lat.q[0], cfg.tick_size))
    rows = []
    for e_i, expiry in enumerate(expiries):
        strikes = np.unique(
            np.round(open_price * np.asarray(cfg.option_moneyness) / cfg.strike_step)
        )
        strikes = strikes * cfg.strike_step
        oi_base = rng.lognormal(0.0, 0.5, (len(strikes), 2))
        for right_i, right in enumerate(("C", "P")):
            for k_i, strike in enumerate(strikes):
                rows.append((e_i, expiry, right_i, right, strike, oi_base[k_i, right_i]))
    n_ct = len(rows)
    e_idx = np.array([r[0] for r in rows])
    is_call = np.array([r[2] == 0 for r in rows])
    strike = np.array([r[4] for r in rows])
    oi_noise = np.array([r[5] for r in rows])

    S = spot[:, None]
    T = years[:, e_idx]  # [n_snap, n_ct]
    a = atm[:, e_idx]
    sqrt_t = np.sqrt(T)
    kn = np.log(strike[None, :] / S) / (a * sqrt_t)
    iv = a * (1.0 - cfg.iv_skew * kn + cfg.iv_smile * kn**2)
    iv = np.maximum(iv, 0.3 * a) * np.exp(cfg.iv_noise / 3.0 * rng.standard_normal(iv.shape))
    sd = iv * sqrt_t
    d1 = (np.log(S / strike[None, :]) + 0.5 * sd**2) / sd
    d2 = d1 - sd
    nd1, nd2 = norm_cdf(d1), norm_cdf(d2)
    call = S * nd1 - strike * nd2
    put = call - S + strike
    price = np.where(is_call[None, :], call, put)
    delta = np.where(is_call[None, :], nd1, nd1 - 1.0)
    pdf = norm_pdf(d1)
    gamma = pdf / (S * sd)
    vega = S * pdf * sqrt_t / 100.0  # per vol point
    theta = -S * pdf * iv / (2.0 * sqrt_t) / 365.0  # per calendar day
    half = np.maximum(0.5 * OPTION_TICK, cfg.option_spread_frac * price)
    bid = np.maximum(0.0, np.floor((price - half) / OPTION_TICK + 1e-9) * OPTION_TICK)
    ask = np.maximum(bid + OPTION_TICK, np.ceil((price + half) / OPTION_TICK - 1e-9) * OPTION_TICK)
    activity = np.exp(-0.5 * kn**2) * (lat.sigma[c] / dyn.sigma0)[:, None]
    volume = np.cumsum(rng.poisson(cfg.option_volume_rate * activity), axis=0).astype(np.float64)
    oi = np.round(
        500.0 * np.exp(-0.5 * np.log(strike / open_price) ** 2 / 0.05**2) * oi_noise + 10.0
    )
    n_snap_rows = n_snap * n_ct
    frame = pd.DataFrame(
        {
            "ts": utc_index(np.repeat(ts_ns, n_ct)),
            "underlying": symbol,
            "expiry": utc_index(np.tile(exp_ns[e_idx], n_snap)),
            "strike": np.tile(strike, n_snap),
            "right": np.tile(np.where(is_call, "C", "P"), n_snap),
            "bid": np.round(bid, 2).reshape(n_snap_rows),
            "ask": np.round(ask, 2).reshape(n_snap_rows),
            "iv": iv.reshape(n_snap_rows),
            "delta": delta.reshape(n_snap_rows),
            "gamma": gamma.reshape(n_snap_rows),
            "vega": vega.reshape(n_snap_rows),
            "theta": theta.reshape(n_snap_rows),
            "volume": volume.reshape(n_snap_rows),
            "open_interest": np.tile(oi, n_snap),
        }
    )
    return frame.astype(OPTIONS)
