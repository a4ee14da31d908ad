"""Realistic synthetic bar windows: the "valid inputs" the validator runs a model on.

Prices live on a 1-cent lattice (as real quotes do), bid < ask, OHLC inside the quotes, integer
volumes with buy + sell = volume, and so on (docs/contract.md §6), so a model whose features take
logs of prices or ratios of volumes sees the kind of numbers it will see in serving.
"""

from __future__ import annotations

import numpy as np

TICK = 0.01
SESSION_START_SECONDS = 10 * 3600.0  # 10:00 local time


def _paths(rng: np.random.Generator, batch: int, window: int) -> dict[str, np.ndarray]:
    """Per-bar price/volume series ``[batch, window]`` for the core columns."""
    start_ticks = rng.integers(10_000, 50_000, size=(batch, 1))  # $100 - $500
    steps = rng.choice([-2, -1, 0, 0, 0, 0, 1, 2], size=(batch, window))
    mid2 = 2 * start_ticks + np.cumsum(steps, axis=1)  # mid in half ticks
    spread_ticks = rng.integers(1, 4, size=(batch, window))
    bid_ticks = np.floor((mid2 - spread_ticks) / 2)
    ask_ticks = bid_ticks + spread_ticks
    bid, ask = bid_ticks * TICK, ask_ticks * TICK
    mid = (bid + ask) / 2
    inside = (
        rng.integers(0, spread_ticks[..., None] + 1, size=(batch, window, 4)) + bid_ticks[..., None]
    )
    o, c = inside[..., 0] * TICK, inside[..., 1] * TICK
    high = np.maximum(np.maximum(o, c), inside[..., 2] * TICK)
    low = np.minimum(np.minimum(o, c), inside[..., 3] * TICK)
    count = rng.integers(0, 40, size=(batch, window)).astype(np.float64)
    volume = count * rng.integers(1, 5, size=(batch, window)) * 100
    buy = np.floor(volume * rng.uniform(0, 1, size=(batch, window)))
    vwap = np.clip(np.round((o + c) / 2 / TICK) * TICK, low, high)
    return {
        "open": o,
        "high": high,
        "low": low,
        "close": c,
        "vwap": vwap,
        "volume": volume,
        "buy_volume": buy,
        "sell_volume": volume - buy,
        "trade_count": count,
        "bid": bid,
        "ask": ask,
        "mid": mid,
        "spread": ask - bid,
        "bid_size": rng.integers(1, 50, size=(batch, window)) * 100.0,
        "ask_size": rng.integers(1, 50, size=(batch, window)) * 100.0,
    }


def _column(
    name: str,
    core: dict[str, np.ndarray],
    context: dict[str, np.ndarray],
    rng: np.random.Generator,
    shape: tuple[int, int],
    bar_seconds: float,
) -> np.ndarray:
    batch, window = shape
    if name in core:
        return core[name]
    if name.startswith("ctx_") and name[4:] in context:
        return context[name[4:]]
    if name == "session_start":
        flag = np.zeros(shape)
        flag[:, 0] = 1.0
        return flag
    if name == "time_of_day":
        return np.broadcast_to(SESSION_START_SECONDS + np.arange(window) * bar_seconds, shape)
    if name.startswith(("atm_iv_", "iv_")):
        return np.repeat(rng.uniform(0.1, 0.5, size=(batch, 1)), window, axis=1)
    if name.endswith("_ratio"):
        return rng.uniform(0.7, 1.3, size=shape)
    if name == "term_slope":
        return rng.uniform(-0.05, 0.05, size=shape)
    if name.startswith("oi_"):
        return rng.uniform(-1e5, 1e5, size=shape)
    return rng.uniform(0.5, 1.5, size=shape)  # unknown column: positive, near 1


def synthetic_bars(
    columns: tuple[str, ...] | list[str],
    window: int,
    batch: int,
    *,
    bar_seconds: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """Float32 ``[batch, window, len(columns)]`` realistic bars, oldest first; deterministic."""
    rng = np.random.default_rng(seed)
    core = _paths(rng, batch, window)
    context = _paths(rng, batch, window)
    out = np.empty((batch, window, len(columns)), dtype=np.float32)
    for i, name in enumerate(columns):
        out[:, :, i] = _column(name, core, context, rng, (batch, window), bar_seconds)
    return out
