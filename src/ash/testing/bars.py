"""Realistic synthetic bar windows for conformance checks and tests.

Prices live on a cent lattice (bid/ask on whole cents, mid on half cents), volumes are positive
and consistent (buy + sell = volume), OHLC/VWAP agree with the trades, ``time_of_day`` advances by
``bar_seconds`` inside a US session, option-surface columns have a put skew, and the context
symbol is a correlated random walk. Unknown (plugin-defined) columns get standard normal noise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ash.bars.columns import MONEYNESS_GRID, bar_columns

ALL_COLUMNS = bar_columns(options=True, context=True)


def _lattice_walk(
    rng: np.random.Generator, shape: tuple[int, int], start: np.ndarray
) -> np.ndarray:
    """Integer-cent random walk with mostly zero moves (a quiet 1 s tape)."""
    steps = rng.choice([-2, -1, 0, 1, 2], p=[0.03, 0.12, 0.7, 0.12, 0.03], size=shape)
    steps[:, 0] = 0
    walk: np.ndarray = start[:, None] + np.cumsum(steps, axis=1)
    return walk


def make_bars(
    batch: int,
    window: int,
    columns: Sequence[str] | None = None,
    seed: int = 0,
    *,
    price: float = 167.0,
    bar_seconds: float = 1.0,
) -> torch.Tensor:
    """float32 bars ``[batch, window, len(columns)]`` (default: every core, option and context
    column), reproducible from ``seed``."""
    cols = tuple(columns) if columns is not None else ALL_COLUMNS
    rng = np.random.default_rng(seed)
    shape = (batch, window)
    start = np.round(price * 100 * (1 + 0.01 * rng.standard_normal(batch)))
    bid_c = _lattice_walk(rng, shape, start)
    spread_c = rng.choice([1, 2], p=[0.85, 0.15], size=shape)
    bid, ask = bid_c / 100.0, (bid_c + spread_c) / 100.0
    mid = 0.5 * (bid + ask)
    count = rng.poisson(3.0, size=shape).astype(np.float64)
    volume = np.where(count > 0, np.round(count * 100 * rng.lognormal(0.0, 0.5, size=shape)), 0.0)
    buy = np.round(volume * rng.beta(2.0, 2.0, size=shape))
    trade_px = np.where(rng.random(shape) < 0.5, bid, ask)
    close = np.where(count > 0, trade_px, np.nan)
    close[:, 0] = np.where(np.isnan(close[:, 0]), bid[:, 0], close[:, 0])
    for t in range(1, window):  # forward-fill the last trade price
        close[:, t] = np.where(np.isnan(close[:, t]), close[:, t - 1], close[:, t])
    opn = np.concatenate([close[:, :1], close[:, :-1]], axis=1)
    high = np.maximum(opn, close) + 0.01 * (rng.random(shape) < 0.2) * (count > 1)
    low = np.minimum(opn, close) - 0.01 * (rng.random(shape) < 0.2) * (count > 1)
    vwap = np.where(volume > 0, low + rng.random(shape) * (high - low), close)
    t_idx = np.arange(window)[None, :]
    tod = 34_200.0 + 1800.0 + rng.integers(0, 3600, size=(batch, 1)) + t_idx * bar_seconds
    session_start = (rng.random(shape) < 0.002).astype(np.float64)
    atm30 = (
        0.15
        + 0.02 * rng.standard_normal((batch, 1))
        + np.cumsum(0.0005 * rng.standard_normal(shape), axis=1)
    )
    atm30 = np.clip(atm30, 0.05, None)
    values: dict[str, np.ndarray] = {
        "open": opn, "high": high, "low": low, "close": close, "vwap": vwap,
        "volume": volume, "buy_volume": buy, "sell_volume": volume - buy,
        "trade_count": count, "bid": bid, "ask": ask, "mid": mid, "spread": ask - bid,
        "bid_size": 100.0 * rng.integers(1, 50, size=shape),
        "ask_size": 100.0 * rng.integers(1, 50, size=shape),
        "session_start": session_start, "time_of_day": tod,
    }  # fmt: skip
    for expiry, offset in (("7d", -0.01), ("30d", 0.0), ("90d", 0.012)):
        atm = atm30 + offset
        values[f"atm_iv_{expiry}"] = atm
        for k, moneyness in zip(MONEYNESS_GRID, (0.9, 0.95, 1.0, 1.05, 1.1), strict=True):
            values[f"iv_{k}_{expiry}"] = (
                atm + 0.4 * (1.0 - moneyness) + 0.8 * (1.0 - moneyness) ** 2
            )
    values["term_slope"] = values["atm_iv_90d"] - values["atm_iv_7d"]
    values["oi_delta"] = 1e5 * rng.standard_normal(shape)
    values["oi_gamma"] = 1e3 * rng.lognormal(0.0, 0.3, size=shape)
    values["oi_vega"] = 1e6 * rng.lognormal(0.0, 0.3, size=shape)
    values["oi_theta"] = -1e5 * rng.lognormal(0.0, 0.3, size=shape)
    values["pc_volume_ratio"] = rng.lognormal(0.0, 0.3, size=shape)
    values["pc_oi_ratio"] = rng.lognormal(0.3, 0.1, size=shape)
    # Context symbol: a lattice walk sharing half of its moves with ours.
    ctx_start = np.round(300.0 * 100 * (1 + 0.01 * rng.standard_normal(batch)))
    own_moves = np.diff(bid_c, axis=1, prepend=bid_c[:, :1])
    ctx_c = _lattice_walk(rng, shape, ctx_start) + np.cumsum(
        own_moves * (rng.random(shape) < 0.5), axis=1
    )
    values["ctx_mid"] = (ctx_c + 0.5) / 100.0
    values["ctx_close"] = np.where(rng.random(shape) < 0.5, ctx_c, ctx_c + 1) / 100.0
    ctx_count = rng.poisson(5.0, size=shape)
    values["ctx_volume"] = ctx_count * 100.0
    values["ctx_buy_volume"] = np.round(values["ctx_volume"] * rng.random(shape))
    values["ctx_sell_volume"] = values["ctx_volume"] - values["ctx_buy_volume"]
    out = np.stack(
        [values[c] if c in values else rng.standard_normal(shape) for c in cols], axis=-1
    )
    return torch.as_tensor(out, dtype=torch.float32)


def make_extreme_bars(
    batch: int, window: int, columns: Sequence[str] | None = None, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Named edge cases every component must survive with finite outputs: a frozen market
    (constant prices, no trades), a 10 % jump with huge volume, missing option data (zeros),
    an all-zero feed, and very cheap / very expensive instruments."""
    cols = tuple(columns) if columns is not None else ALL_COLUMNS
    base = make_bars(batch, window, cols, seed)
    idx = {c: i for i, c in enumerate(cols)}
    price_cols = [
        idx[c] for c in ("open", "high", "low", "close", "vwap", "bid", "ask", "mid") if c in idx
    ]
    flow_cols = [idx[c] for c in ("volume", "buy_volume", "sell_volume", "trade_count") if c in idx]
    frozen = base.clone()
    for i in price_cols:
        frozen[:, :, i] = frozen[:, :1, i]
    for i in flow_cols:
        frozen[:, :, i] = 0.0
    jump = base.clone()
    for i in price_cols:
        jump[:, window // 2 :, i] *= 1.1
    for i in flow_cols:
        jump[:, window // 2, i] = 1e9
    no_options = base.clone()
    for c in cols:
        if c.startswith(("atm_iv", "iv_", "oi_", "pc_", "term_slope")):
            no_options[:, :, idx[c]] = 0.0
    cheap, dear = base.clone(), base.clone()
    for i in price_cols:
        cheap[:, :, i] *= 0.01 / 167.0
        dear[:, :, i] *= 1e6 / 167.0
    return {
        "frozen": frozen,
        "jump": jump,
        "no_options": no_options,
        "all_zero": torch.zeros_like(base),
        "cheap": cheap,
        "dear": dear,
    }


def make_returns(horizons: Sequence[float], n: int = 4000, seed: int = 0) -> np.ndarray:
    """Forward returns (bps) ``[n, H]`` on a tick lattice (atoms at 0 and ±½, ±1 tick at $167)
    plus a diffusive part growing with √h, with a few NaNs (missing targets)."""
    rng = np.random.default_rng(seed)
    half_tick = 1e4 * 0.005 / 167.0
    cols = []
    for h in horizons:
        ticks = rng.choice([-2, -1, 0, 1, 2], p=[0.05, 0.15, 0.6, 0.15, 0.05], size=n)
        diffusive = np.round(0.65 * np.sqrt(h) * rng.standard_normal(n) / half_tick)
        cols.append((ticks + diffusive * (h > 5)) * half_tick)
    out = np.stack(cols, axis=1)
    out[rng.random(out.shape) < 0.01] = np.nan
    return out
