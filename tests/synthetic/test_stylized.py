"""Stylized facts of the simulated market and the information each observable carries.

Thresholds are statistical: autocorrelation bands use heteroskedasticity-robust standard errors
(returns here have volatility clustering, so 1/√n would be too narrow), correlations are judged
against their standard error on (nearly) independent samples.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ash.synthetic.config import SyntheticConfig
from ash.synthetic.oracle import Oracle
from ash.synthetic.simulator import Simulator

CFG = SyntheticConfig(n_days=20, seed=11)


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(CFG)


@pytest.fixture(scope="module")
def oracle(sim: Simulator) -> Oracle:
    return Oracle(sim)


def session_returns(sim: Simulator, oracle: Oracle, step_s: int, symbol: str = "SYN") -> list:
    """Observed mid log returns (bps) over consecutive ``step_s`` bars, one array per session."""
    out = []
    for d in range(sim.n_days):
        ends = int(sim.opens_ns[d]) + np.arange(step_s, sim.cfg.session_seconds, step_s) * 10**9
        r = oracle.realized_returns(symbol, ends.astype(np.int64), [step_s])[:, 0]
        out.append(r[np.isfinite(r)])
    return out


def acf_with_se(series: list, lag: int) -> tuple[float, float]:
    """Autocorrelation at ``lag`` within sessions, with a White (robust) standard error."""
    x = np.concatenate(series)
    m = x.mean()
    den = float(((x - m) ** 2).sum())
    prods = np.concatenate([(s[lag:] - m) * (s[:-lag] - m) for s in series if len(s) > lag])
    return float(prods.sum() / den), float(np.sqrt((prods**2).sum()) / den)


def test_one_minute_returns_are_heavy_tailed(sim: Simulator, oracle: Oracle) -> None:
    r = np.concatenate(session_returns(sim, oracle, 60))
    z = (r - r.mean()) / r.std()
    excess_kurtosis = float((z**4).mean() - 3.0)
    # a Gaussian's sample excess kurtosis has sd sqrt(24/n) ≈ 0.08 here
    assert excess_kurtosis > 1.0, excess_kurtosis


def test_volatility_clusters_over_many_lags(sim: Simulator, oracle: Oracle) -> None:
    absr = [np.abs(s) for s in session_returns(sim, oracle, 60)]
    for lag in (1, 2, 5, 10, 20, 30):
        rho, se = acf_with_se(absr, lag)
        assert rho > 0.05 and rho > 3 * se, (lag, rho, se)


def test_raw_returns_are_uncorrelated_beyond_the_signal_horizon(
    sim: Simulator, oracle: Oracle
) -> None:
    r30 = session_returns(sim, oracle, 30)
    # the hidden drift (half-life 20 s) makes consecutive 30 s returns positively correlated ...
    rho1, se1 = acf_with_se(r30, 1)
    assert rho1 > 3 * se1, (rho1, se1)
    # ... and nothing is left after ~9 half-lives
    for lag in (6, 8, 10, 15):
        rho, se = acf_with_se(r30, lag)
        assert abs(rho) < 4 * se, (lag, rho, se)
    r60 = session_returns(sim, oracle, 60)
    for lag in range(3, 11):
        rho, se = acf_with_se(r60, lag)
        assert abs(rho) < 4 * se, (lag, rho, se)


def test_intraday_volume_is_u_shaped(sim: Simulator) -> None:
    trades = pd.concat([sim.events(d, "trades", "SYN") for d in range(sim.n_days)])
    local = trades.ts.dt.tz_convert("America/New_York")
    half_hour = (local.dt.hour * 60 + local.dt.minute - 570) // 30
    volume = trades.groupby(half_hour)["size"].sum().to_numpy()
    middle = volume[4:9].mean()
    assert volume[0] > 1.4 * middle and volume[-1] > 1.15 * middle, volume


def test_trade_sizes_are_heavy_tailed_round_lots(sim: Simulator) -> None:
    size = sim.events(0, "trades", "SYN")["size"].to_numpy()
    assert np.mean(size % 100 == 0) > 0.7
    assert np.quantile(size, 0.999) > 20 * np.median(size)


def test_spread_widens_with_volatility(sim: Simulator) -> None:
    lat = sim.latent(0)
    assert np.corrcoef(lat.sigma, lat.spread)[0, 1] > 0.3


def test_order_flow_predicts_the_next_seconds(sim: Simulator, oracle: Oracle) -> None:
    ofi, fut = [], []
    for d in range(sim.n_days):
        trades = sim.events(d, "trades", "SYN")
        ts = pd.DatetimeIndex(trades.ts).asi8
        cum = np.concatenate(([0.0], np.cumsum((trades["size"] * trades.side).to_numpy())))
        # non-overlapping 30 s look-back and 30 s look-ahead windows
        ends = int(sim.opens_ns[d]) + np.arange(60, sim.cfg.session_seconds - 60, 60) * 10**9
        ends = ends.astype(np.int64)
        back = cum[np.searchsorted(ts, ends, "right")] - cum[np.searchsorted(ts, ends - 30 * 10**9)]
        ofi.append(back)
        fut.append(oracle.realized_returns("SYN", ends, [30])[:, 0])
    x, y = np.concatenate(ofi), np.concatenate(fut)
    corr = np.corrcoef(x, y)[0, 1]
    assert corr > 4 / np.sqrt(len(x)), (corr, len(x))


def test_index_leads_the_stock(sim: Simulator, oracle: Oracle) -> None:
    lag = sim.cfg.context_lag_s
    ends = np.concatenate(
        [int(sim.opens_ns[d]) + np.arange(60, 3600, 5) * 10**9 for d in range(3)]
    ).astype(np.int64)
    past_index = oracle.realized_returns("IDX", ends - int(lag * 1e9), [lag])[:, 0]
    stock_next = oracle.realized_returns("SYN", ends, [lag])[:, 0]
    stock_past = oracle.realized_returns("SYN", ends - int(lag * 1e9), [lag])[:, 0]
    lead = np.corrcoef(past_index, stock_next)[0, 1]
    reverse = np.corrcoef(stock_past, oracle.realized_returns("IDX", ends, [lag])[:, 0])[0, 1]
    assert lead > 0.2 and abs(reverse) < 4 / np.sqrt(len(ends)), (lead, reverse)


def test_implied_vol_forecasts_realized_variance(sim: Simulator, oracle: Oracle) -> None:
    """ATM IV of the nearest expiry vs realized variance over the next half hour."""
    ivs, rvs = [], []
    for d in range(sim.n_days):
        chain = sim.events(d, "options", "SYN")
        calls = chain[(chain.right == "C") & (chain.expiry == chain.expiry.min())]
        atm = calls.assign(dist=(calls.delta - 0.5).abs()).sort_values("dist")
        atm = atm.groupby("ts").head(1).sort_values("ts").iloc[::30]  # every 30 min
        for ts, iv in zip(pd.DatetimeIndex(atm.ts).asi8, atm.iv, strict=True):
            ends = ts + np.arange(60, 1801, 60) * 10**9
            r = oracle.realized_returns("SYN", ends - 60 * 10**9, [60])[:, 0]
            if np.isfinite(r).sum() >= 25:
                ivs.append(np.log(iv))
                rvs.append(np.log(np.nanmean(r**2)))
    corr = np.corrcoef(ivs, rvs)[0, 1]
    assert corr > 3 / np.sqrt(len(ivs)), (corr, len(ivs))
