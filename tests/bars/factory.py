"""Small Bars objects made directly (no events) for target, window and split tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ash.bars.columns import bar_columns
from ash.bars.result import REJECT_REASONS, Bars, BuildStats
from ash.bars.spec import BarSpec

START_NS = 1_381_152_600_000_000_000  # 2013-10-07 09:30 New York


def synthetic_bars(
    segment_lengths: Sequence[int],
    *,
    symbol: str = "AAA",
    seed: int = 0,
    has_quotes: bool = True,
    spec: BarSpec | None = None,
    start_ns: int = START_NS,
) -> Bars:
    """Bars in segments of the given lengths, one hour apart, with a random-walk mid/close."""
    spec = spec or BarSpec()
    rng = np.random.default_rng(seed)
    columns = bar_columns()
    ts, starts, t = [], [], start_ns
    for length in segment_lengths:
        starts.append(len(ts))
        ts.extend(t + np.arange(length) * spec.bar_ns)
        t += length * spec.bar_ns + 3600 * 10**9
    T = len(ts)
    values = np.zeros((T, len(columns)))
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 1e-4, T)))
    for name in ("open", "high", "low", "close", "vwap", "bid", "ask"):
        values[:, columns.index(name)] = close
    values[:, columns.index("mid")] = close * (1 + rng.normal(0, 1e-5, T)) if has_quotes else close
    values[:, columns.index("volume")] = rng.integers(0, 1000, T)
    values[starts, columns.index("session_start")] = 1.0
    return Bars(
        symbol=symbol,
        spec=spec,
        columns=columns,
        ts_ns=np.asarray(ts, dtype=np.int64),
        values=values,
        segment_starts=np.asarray(starts, dtype=np.int64),
        stats=BuildStats(0, 0, 0, 0, dict.fromkeys(REJECT_REASONS, 0)),
        has_quotes=has_quotes,
    )
