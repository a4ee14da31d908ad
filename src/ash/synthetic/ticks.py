"""Observable ticks drawn from the latent paths: quotes on the tick lattice and trades.

Quotes: at fine step ``j`` (stamped ``open + (j + ½)·dt``, never on a bar boundary) the book is
``bid = k·tick``, ``ask = (k + n)·tick`` with ``k = round(S/tick − n/2)``; a quote row is emitted
when the bid or ask changes and at random size refreshes. Trades: a Hawkes process (immigrants
from a volatility-driven Cox intensity, exponential children) executed at the prevailing bid
or ask, with sides and sizes tilted toward the hidden drift.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ash.data.schema import QUOTES, TRADES
from ash.synthetic.config import SyntheticConfig
from ash.synthetic.dynamics import F64, I64, Dynamics, mid_price, tick_price, utc_index
from ash.synthetic.simulate import (
    STREAM_INDEX_TICKS,
    STREAM_QUOTES,
    STREAM_TRADES,
    LatentDay,
    rng_for,
)

MAX_LOTS = 2000.0
MAX_ULPS = 16


def _nudge_ask(bid: F64, ask: F64, mid: F64, out: F64, bad: I64) -> I64:
    """Search asks within ``MAX_ULPS`` for ``(bid + ask) / 2 == mid``; returns rows still bad."""
    for start in (ask, 2.0 * mid - bid):
        for direction in (np.inf, -np.inf):
            cand = start[bad]
            for _ in range(MAX_ULPS):
                if bad.size == 0:
                    return bad
                ok = (bid[bad] + cand) / 2.0 == mid[bad]
                out[bad[ok]] = cand[ok]
                bad, cand = bad[~ok], cand[~ok]
                cand = np.nextafter(cand, direction)
    return bad


def canonical_quotes(bid: F64, ask: F64, mid: F64) -> tuple[F64, F64]:
    """Nudge ``ask`` (and, where that cannot work, ``bid``) by a few ulps so that
    ``(bid + ask) / 2`` is exactly ``mid``.

    Then a mid that stays on the same half tick gives a return of exactly 0 whatever the spread,
    and the oracle's atoms are bit-identical to the realized targets. (When the bid has a bit
    below the sum's last place, round-half-even makes some sums unreachable by the ask alone.)
    """
    bid, out = bid.copy(), ask.copy()
    bad = np.flatnonzero((bid + out) / 2.0 != mid)
    bad = _nudge_ask(bid, ask, mid, out, bad)
    for ulps in (1, -1, 2, -2):
        if bad.size == 0:
            break
        moved = bid.copy()
        for _ in range(abs(ulps)):
            moved[bad] = np.nextafter(moved[bad], np.inf if ulps > 0 else -np.inf)
        still = _nudge_ask(moved, ask, mid, out, bad)
        fixed = np.setdiff1d(bad, still)
        bid[fixed] = moved[fixed]
        bad = still
    if bad.size:
        raise ArithmeticError(f"no bid/ask floats give the canonical mid for {bad.size} quotes")
    return bid, out


def symbol_paths(lat: LatentDay, symbol: str, cfg: SyntheticConfig) -> tuple[F64, I64, I64, float]:
    """Log efficient price, mid half-tick index, spread path and tick of a symbol."""
    if symbol == cfg.symbol:
        return lat.x, lat.q, lat.spread, cfg.tick_size
    if symbol == cfg.context_symbol and lat.x_index is not None:
        assert lat.q_index is not None and lat.spread_index is not None
        return lat.x_index, lat.q_index, lat.spread_index, cfg.context_tick_size
    raise KeyError(
        f"symbol {symbol!r} is not simulated; available: {cfg.symbol}, {cfg.context_symbol}"
    )


def quote_times_ns(dyn: Dynamics, open_ns: int, j: I64) -> I64:
    return open_ns + j * dyn.fine_ns + dyn.fine_ns // 2


def prevailing_step(dyn: Dynamics, open_ns: int, ts_ns: I64) -> I64:
    """Fine step of the last quote at or before ``ts`` (−1 before the first quote)."""
    return (ts_ns - open_ns - dyn.fine_ns // 2) // dyn.fine_ns


def quotes_frame(cfg: SyntheticConfig, dyn: Dynamics, lat: LatentDay, symbol: str) -> pd.DataFrame:
    x, q, spread, tick = symbol_paths(lat, symbol, cfg)
    is_stock = symbol == cfg.symbol
    rng = rng_for(cfg.seed, lat.day, STREAM_QUOTES if is_stock else STREAM_INDEX_TICKS)
    J = dyn.n_fine
    n = np.repeat(spread, dyn.ratio)
    refresh = rng.random(J) < cfg.quote_refresh_per_s * dyn.dt
    changed = np.ones(J, dtype=bool)
    changed[1:] = (q[1:] != q[:-1]) | (n[1:] != n[:-1])
    changed[-1] = True  # a quote at the close: the session's last bar has a quote event
    j = np.flatnonzero(changed | refresh)
    kb = (q[j] - n[j]) // 2
    mid = mid_price(q[j], tick)
    bid, ask = canonical_quotes(tick_price(kb, tick), tick_price(kb + n[j], tick), mid)
    # displayed sizes lean toward the efficient price's side of the spread (a micro-price signal)
    z = (np.exp(x[j]) - mid) / tick
    tilt = cfg.quote_size_imbalance * z if is_stock else np.zeros(len(j))
    base = cfg.quote_size_lots
    bid_lots = np.maximum(1.0, np.round(base * np.exp(tilt + 0.5 * rng.standard_normal(len(j)))))
    ask_lots = np.maximum(1.0, np.round(base * np.exp(-tilt + 0.5 * rng.standard_normal(len(j)))))
    frame = pd.DataFrame(
        {
            "ts": utc_index(quote_times_ns(dyn, lat.open_ns, j)),
            "symbol": symbol,
            "bid": bid,
            "ask": ask,
            "bid_size": 100.0 * bid_lots,
            "ask_size": 100.0 * ask_lots,
        }
    )
    return frame.astype(QUOTES)


def _hawkes_times(
    cfg: SyntheticConfig, dyn: Dynamics, sigma: F64, rate: float, rng: np.random.Generator
) -> F64:
    """Event times (s since open): Cox immigrants per vol step, then exponential children."""
    length = cfg.session_seconds
    lam = rate * (sigma / dyn.sigma0) ** cfg.trade_vol_elasticity * dyn.vol_dt
    counts = rng.poisson(lam)
    starts = np.repeat(np.arange(len(sigma)) * dyn.vol_dt, counts)
    parents = starts + dyn.vol_dt * rng.random(starts.shape[0])
    every = [parents]
    while parents.size:
        kids = rng.poisson(cfg.hawkes_branching, parents.shape[0])
        born = np.repeat(parents, kids) + rng.exponential(cfg.hawkes_decay_s, int(kids.sum()))
        parents = born[born < length]
        every.append(parents)
    times = np.sort(np.concatenate(every))
    return times[times >= dyn.dt / 2]  # the first quote is at dt/2


def trades_frame(cfg: SyntheticConfig, dyn: Dynamics, lat: LatentDay, symbol: str) -> pd.DataFrame:
    _, q, spread, tick = symbol_paths(lat, symbol, cfg)
    is_stock = symbol == cfg.symbol
    rng = rng_for(cfg.seed, lat.day, STREAM_TRADES if is_stock else STREAM_INDEX_TICKS + 100)
    rate = cfg.trade_rate_per_s * (1.0 if is_stock else cfg.context_trade_rate_mult)
    t = _hawkes_times(cfg, dyn, lat.sigma, rate, rng)
    ts = lat.open_ns + np.round(t * 1e9).astype(np.int64)
    j = np.clip(prevailing_step(dyn, lat.open_ns, ts), 0, dyn.n_fine - 1)
    # order flow leaks the hidden drift: P(buy) = logistic(tilt · μ/std(μ))
    signal = lat.mu[j] / dyn.drift_std if (is_stock and dyn.drift_std > 0) else np.zeros(len(j))
    p_buy = 1.0 / (1.0 + np.exp(-cfg.trade_side_tilt * signal))
    side = np.where(rng.random(len(j)) < p_buy, 1, -1).astype(np.int8)
    lots = np.floor(rng.random(len(j)) ** (-1.0 / cfg.size_pareto_alpha))
    lots = np.clip(np.round(lots * np.exp(cfg.trade_size_tilt * side * signal)), 1.0, MAX_LOTS)
    odd = rng.random(len(j)) < cfg.odd_lot_prob
    size = np.where(odd, rng.integers(1, 100, len(j)).astype(np.float64), 100.0 * lots)
    n = np.repeat(spread, dyn.ratio)[j]
    kb = (q[j] - n) // 2
    # the very floats of the quotes
    bid, ask = canonical_quotes(
        tick_price(kb, tick), tick_price(kb + n, tick), mid_price(q[j], tick)
    )
    price = np.where(side > 0, ask, bid)
    frame = pd.DataFrame(
        {
            "ts": utc_index(ts),
            "symbol": symbol,
            "price": price,
            "size": size,
            "side": side,
        }
    )
    return frame.astype(TRADES)
