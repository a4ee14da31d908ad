"""Aggressor side of each accepted trade: true side, else quote rule, else tick rule.

All rules look only backwards in arrival order and restart at every segment start, so a
streaming implementation (Rust) that keeps "last quote", "last trade price" and "last non-zero
tick" per segment reproduces them exactly.
"""

from __future__ import annotations

import numpy as np

from ash.bars.events import F64, I64


def tick_rule(price: F64, segment_first: np.ndarray) -> F64:
    """+1 after an uptick, -1 after a downtick; a zero tick repeats the last non-zero tick of the
    segment; 0 when the segment has had no price change yet (including its first trade)."""
    n = len(price)
    if n == 0:
        return np.zeros(0)
    tick = np.zeros(n)
    tick[1:] = np.sign(price[1:] - price[:-1])
    tick[segment_first] = 0.0
    carrier = np.where((tick != 0) | segment_first, np.arange(n), 0)
    return tick[np.maximum.accumulate(carrier)]


def quote_rule(price: F64, mid: F64) -> F64:
    """+1 above the prevailing mid, -1 below, 0 at the mid or without a quote (mid NaN)."""
    # Comparisons with NaN are False, so a missing quote gives 0 without a separate test.
    return np.greater(price, mid).astype(np.float64) - np.less(price, mid)


def infer_sides(
    true_side: F64, price: F64, prevailing_mid: F64 | None, segment_first: np.ndarray
) -> F64:
    """Final side in {-1, 0, +1}: the first non-zero of true side, quote rule, tick rule.

    ``prevailing_mid`` is NaN where a trade has no quote; None when the stream has no quotes."""
    if prevailing_mid is None:
        side = true_side
    elif not true_side.any():  # no true sides at all (e.g. consolidated tapes)
        side = quote_rule(price, prevailing_mid)
    else:
        side = np.where(true_side != 0, true_side, quote_rule(price, prevailing_mid))
    unresolved = side == 0
    if unresolved.any():
        side = np.where(unresolved, tick_rule(price, segment_first), side)
    return side


def split_volume(size: F64, side: F64) -> tuple[F64, F64]:
    """(buy, sell) volume per trade; an unknown side (0) gives half to each, so buy+sell=size."""
    # side in {-1, 0, 1}: (1 + side) * 0.5 is 0, 0.5 or 1 and every product is exact.
    return size * ((1.0 + side) * 0.5), size * ((1.0 - side) * 0.5)


def prevailing_mid(
    quotes_before: I64, quote_mid: F64, quote_segment: I64, trade_segment: I64
) -> F64:
    """Mid of the last quote before each trade in the same segment (NaN if none).

    ``quotes_before[i]``: number of quotes before trade i in the stream; ``quote_mid`` and
    ``quote_segment``: per quote, in stream order; ``trade_segment``: per trade.
    """
    # Slot 0 stands for "no quote yet": NaN mid, a segment id no trade has.
    mid = np.concatenate(([np.nan], quote_mid))
    segment = np.concatenate(([-1], quote_segment))
    candidate = mid[quotes_before]
    return np.where(segment[quotes_before] == trade_segment, candidate, np.nan)
