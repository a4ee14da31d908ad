"""The oracle against brute force: re-simulate the future from the latent state many times.

The re-simulation below is written independently of the oracle (a plain fine-step loop of the
documented equations), so agreement checks the oracle's closed-form parts: the exact OU drift
integral, the variance along the vol path, the index lead-lag, the jump mixture, the spread's
lattice parity and the rounding to quotes.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from ash.synthetic.config import SyntheticConfig
from ash.synthetic.dynamics import mid_price
from ash.synthetic.oracle import Oracle, bucketize
from ash.synthetic.simulator import Simulator

CFG = SyntheticConfig(
    preset="stressed",
    n_days=1,
    session_close=dt.time(11, 0),
    options=False,
    vol_half_life_s=120.0,  # fast vol: the future vol path matters within the horizon
    vol_of_vol=0.5,
    jump_rate_per_hour=(20.0, 40.0, 80.0),  # jumps matter too
    regime_mean_duration_s=(300.0, 300.0, 300.0),
    drift_std_bps_per_s=0.3,  # strong drift: its integral matters
    context_lag_s=3.0,
    oracle_samples=64,
)


def brute_force(sim: Simulator, symbol: str, ts: int, horizon: float, n: int, seed: int):
    """``n`` draws of the observed target, simulating fine steps from the bar end's state."""
    cfg, dyn = sim.cfg, sim.dyn
    rng = np.random.default_rng(seed)
    lat = sim.latent(0)
    fine = dyn.fine_ns
    off0 = ts - int(sim.opens_ns[0])
    j0 = (off0 - fine // 2) // fine
    j1 = (off0 + round(horizon * 1e9) - fine // 2) // fine
    R = dyn.ratio
    stock = symbol == cfg.symbol
    tick = cfg.tick_size if stock else cfg.context_tick_size
    c = j0 // R
    regime = np.full(n, lat.regime[c])
    h = np.full(n, lat.h[c])
    slow = np.full(n, lat.slow[c])
    sigma = np.full(n, lat.sigma[c])
    x = np.full(n, lat.x[j0] if stock else lat.x_index[j0])
    mu = np.full(n, lat.mu[j0])
    future_index = {}  # index increments at fine steps >= j0, per path
    L = dyn.lag_steps
    for i in range(j0, j1):
        ci = i // R
        if ci != c:  # new vol step: regime, then log-vol
            c = ci
            u = rng.random(n)
            cdf = np.cumsum(dyn.transition[regime], axis=1)
            regime = np.minimum((u[:, None] >= cdf).sum(axis=1), len(dyn.regime_level) - 1)
            level = dyn.regime_level[regime]
            h = level + dyn.phi_h * (h - level) + dyn.eta_h * rng.standard_normal(n)
            slow = dyn.phi_slow * slow + dyn.eta_slow * rng.standard_normal(n)
            sigma = dyn.sigma0 * np.exp(dyn.season[c] + h + slow)
        d_idx = dyn.ctx_vol_mult * sigma * np.sqrt(dyn.dt) * rng.standard_normal(n)
        future_index[i] = d_idx
        if stock:
            dx = mu * dyn.dt + sigma * np.sqrt(dyn.dt * (1 - dyn.rho**2)) * rng.standard_normal(n)
            k = i - L
            if k >= 0:
                past = lat.x_index[k + 1] - lat.x_index[k] if k < j0 else None
                dx = dx + dyn.ctx_beta * (past if past is not None else future_index[k])
            jumps = rng.poisson(dyn.jump_rate[regime] * dyn.dt)
            dx = dx + np.sqrt(jumps) * dyn.jump_std * rng.standard_normal(n)
            mu = dyn.phi_mu * mu + dyn.drift_innov * rng.standard_normal(n)
        else:
            dx = d_idx
        x = x + dx
    if stock:
        if j1 // R == j0 // R:
            spread = np.full(n, lat.spread[j0 // R])
        else:
            v = cfg.spread_vol_coef * sigma / dyn.sigma0
            spread = np.minimum(1 + np.floor(v + rng.random(n)), cfg.max_spread_ticks)
        q0 = lat.q[j0]
    else:
        spread = np.ones(n)
        q0 = lat.q_index[j0]
    kb = np.round(np.exp(x) / tick - spread / 2.0)
    q1 = (2 * kb + spread).astype(np.int64)
    return 1e4 * np.log(mid_price(q1, tick) / mid_price(q0, tick))


def edge_sets(horizon: float, q0: int, tick: float) -> list[np.ndarray]:
    sd = 2.0 * np.sqrt(horizon)
    uniform = np.concatenate(([-1e4], np.linspace(-3 * sd, 3 * sd, 16), [1e4]))
    # edges exactly at 0 and on the ±1, ±2 half-tick atoms of this bar end test the tie rule
    m0 = mid_price(np.array([q0]), tick)[0]
    atoms = [1e4 * np.log(mid_price(np.array([q0 + k]), tick)[0] / m0) for k in (-2, -1, 1, 2)]
    ties = np.array([-1e4, -3 * sd, *atoms, 0.0, 3 * sd, 1e4])
    return [uniform, np.unique(ties)]


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(CFG)


@pytest.mark.parametrize(
    ("symbol", "minute", "horizon"),
    [
        ("SYN", 7, 1.0),
        ("SYN", 13, 10.0),
        ("SYN", 21, 60.0),
        ("SYN", 40, 240.0),
        ("IDX", 17, 30.0),
    ],
)
def test_oracle_matches_brute_force(sim: Simulator, symbol: str, minute: int, horizon: float):
    ts = int(sim.opens_ns[0]) + minute * 60 * 10**9 + 300_000_000  # not on a whole second
    n = 20_000 if horizon <= 60 else 6_000
    draws = brute_force(sim, symbol, ts, horizon, n, seed=minute)
    oracle = Oracle(sim)
    lat = sim.latent(0)
    j0 = (ts - int(sim.opens_ns[0]) - sim.dyn.fine_ns // 2) // sim.dyn.fine_ns
    q0 = int(lat.q[j0] if symbol == "SYN" else lat.q_index[j0])
    tick = CFG.tick_size if symbol == "SYN" else CFG.context_tick_size
    for edges in edge_sets(horizon, q0, tick):
        e = edges[None, None, :]
        res = oracle.predict(symbol, np.array([ts]), [horizon], e)
        p, se = res.probs[0, 0], res.stderr[0, 0]
        assert abs(p.sum() - 1) < 1e-9
        k = bucketize(draws[:, None], np.broadcast_to(e, (n, 1, e.shape[2])))[:, 0]
        freq = np.bincount(k, minlength=len(p)) / n
        z = (freq - p) / np.sqrt(p * (1 - p) / n + se**2 + 1e-12)
        assert np.abs(z).max() < 4.5, (symbol, horizon, np.round(p, 4), np.round(freq, 4))
