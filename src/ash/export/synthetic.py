"""Realistic synthetic bar windows: the "valid inputs" the validator runs a model on.

Prices live on a 1-cent lattice (as real quotes do), bid < ask, OHLC inside the quotes, integer
volumes with buy + sell = volume, and so on (docs/contract.md §6), so a model whose features take
logs of prices or ratios of volumes sees the kind of numbers it will see in serving.

The random numbers come from SplitMix64, drawn in the same order as the Rust twin
(``inference-rs/src/contract/synthetic.rs``), so both validators run a model on the very same
windows, bit for bit (the contract fixtures carry vectors that both test suites check). SplitMix64
is counter-based (draw ``i`` is a mix of ``state + (i + 1) * GAMMA``), so NumPy draws a whole block
at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TICK = 0.01
SESSION_START_SECONDS = 10 * 3600.0  # 10:00 local time

GAMMA = 0x9E3779B97F4A7C15
SEED_XOR = 0xD1B54A32D192ED03
MASK64 = (1 << 64) - 1
STEPS = np.array([-2, -1, 0, 0, 0, 0, 1, 2], dtype=np.int64)
# Draws per bar of a price path, in the Rust order: step, spread, open, close, high, low, trade
# count, volume multiplier, buy share, bid size, ask size.
DRAWS_PER_BAR = 11
CORE_NAMES = (
    "open",
    "high",
    "low",
    "close",
    "vwap",
    "volume",
    "buy_volume",
    "sell_volume",
    "trade_count",
    "bid",
    "ask",
    "mid",
    "spread",
    "bid_size",
    "ask_size",
)

U64 = np.ndarray[Any, np.dtype[np.uint64]]
F64 = np.ndarray[Any, np.dtype[np.float64]]
I64 = np.ndarray[Any, np.dtype[np.int64]]


def splitmix64(seed: int, n: int) -> U64:
    """The first ``n`` outputs of SplitMix64 seeded like the Rust ``Rng::new(seed)``."""
    state = ((seed * GAMMA) & MASK64) ^ SEED_XOR
    with np.errstate(over="ignore"):
        z = np.uint64(state) + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(GAMMA)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _int(u: U64, lo: int, span: U64 | int) -> I64:
    """Rust ``Rng::int(lo, lo + span)``: ``lo + u % span``."""
    return lo + (u % np.asarray(span, dtype=np.uint64)).astype(np.int64)


def _uniform(u: U64) -> F64:
    """Rust ``Rng::uniform``: the top 53 bits over 2**53, in [0, 1)."""
    return (u >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _path(u: U64, window: int) -> dict[str, F64]:
    """Per-bar core series ``[batch, window]`` from ``1 + 11 * window`` draws per window."""
    batch = u.shape[0]
    start = _int(u[:, 0], 10_000, 40_000)  # mid in ticks: $100 - $500
    per = u[:, 1:].reshape(batch, window, DRAWS_PER_BAR)
    mid2 = 2 * start[:, None] + np.cumsum(STEPS[_int(per[..., 0], 0, 8)], axis=1)  # half ticks
    spread = _int(per[..., 1], 1, 3)
    bid_t = np.floor((mid2 - spread) / 2.0).astype(np.int64)
    ask_t = bid_t + spread
    inside = [
        (bid_t + _int(per[..., k], 0, (spread + 1).astype(np.uint64))) * TICK for k in (2, 3, 4, 5)
    ]
    o, c, h, l_ = (x.astype(np.float64) for x in inside)
    high = np.maximum(np.maximum(o, c), h)
    low = np.minimum(np.minimum(o, c), l_)
    count = _int(per[..., 6], 0, 40).astype(np.float64)
    volume = count * _int(per[..., 7], 1, 4).astype(np.float64) * 100.0
    buy = np.floor(volume * _uniform(per[..., 8]))
    vwap = np.clip(np.round((o + c) / 2.0 / TICK) * TICK, low, high)  # ties to even, as Rust
    bid, ask = bid_t * TICK, ask_t * TICK
    values = (
        o,
        high,
        low,
        c,
        vwap,
        volume,
        buy,
        volume - buy,
        count,
        bid,
        ask,
        (bid + ask) / 2.0,
        ask - bid,
        _int(per[..., 9], 1, 49) * 100.0,
        _int(per[..., 10], 1, 49) * 100.0,
    )
    return {
        name: np.asarray(v, dtype=np.float64) for name, v in zip(CORE_NAMES, values, strict=True)
    }


def _draws_a_cell(name: str) -> bool:
    """Whether column ``name`` takes one fresh draw per bar (the Rust generator's order)."""
    if name in CORE_NAMES or (name.startswith("ctx_") and name[4:] in CORE_NAMES):
        return False
    return name not in ("session_start", "time_of_day") and not name.startswith(("atm_iv_", "iv_"))


def _cell(name: str, u: F64) -> F64:
    if name.endswith("_ratio"):
        return 0.7 + 0.6 * u
    if name == "term_slope":
        return -0.05 + 0.1 * u
    if name.startswith("oi_"):
        return -1e5 + 2e5 * u
    return 0.5 + u  # unknown column: positive, near 1


def synthetic_bars(
    columns: tuple[str, ...] | list[str],
    window: int,
    batch: int,
    *,
    bar_seconds: float = 1.0,
    seed: int = 0,
) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Float32 ``[batch, window, len(columns)]`` realistic bars, oldest first; deterministic."""
    names = list(columns)
    n = len(names)
    cell_columns = [i for i, name in enumerate(names) if _draws_a_cell(name)]
    path_draws = 1 + DRAWS_PER_BAR * window
    per_window = 2 * path_draws + n + window * len(cell_columns)
    u = splitmix64(seed, batch * per_window).reshape(batch, per_window)
    core = _path(u[:, :path_draws], window)
    context = _path(u[:, path_draws : 2 * path_draws], window)
    iv = 0.1 + 0.4 * _uniform(u[:, 2 * path_draws : 2 * path_draws + n])
    cells = _uniform(u[:, 2 * path_draws + n :]).reshape(batch, window, len(cell_columns))
    out = np.empty((batch, window, n), dtype=np.float64)
    for i, name in enumerate(names):
        if name in core:
            out[:, :, i] = core[name]
        elif name.startswith("ctx_") and name[4:] in context:
            out[:, :, i] = context[name[4:]]
        elif name == "session_start":
            out[:, :, i] = 0.0
            out[:, 0, i] = 1.0
        elif name == "time_of_day":
            out[:, :, i] = SESSION_START_SECONDS + np.arange(window, dtype=np.float64) * bar_seconds
        elif name.startswith(("atm_iv_", "iv_")):
            out[:, :, i] = iv[:, i, None]
        else:
            out[:, :, i] = _cell(name, cells[:, :, cell_columns.index(i)])
    return out.astype(np.float32)
