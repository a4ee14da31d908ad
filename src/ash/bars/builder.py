"""The vectorized bar builder: an arrival-ordered event stream -> bars on a regular grid.

Every rule here is specified in docs/bars.md and mirrored tick by tick by inference-rs; the two
are held together by the JSON vectors in tests/vectors/bars. numpy only, no Python loop per event.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from ash.bars.calendar import LocalDays, local_days
from ash.bars.columns import CONTEXT_COLUMNS, CORE_COLUMNS, OPTION_COLUMNS, bar_columns
from ash.bars.events import (
    F64,
    I64,
    NAT,
    QUOTE,
    QUOTE_FIELDS,
    SURFACE,
    TRADE,
    TRADE_FIELDS,
    EventStream,
    check_single_symbol,
    frame_fields,
    frame_ts_ns,
    merge_feeds,
)
from ash.bars.result import REJECT_REASONS, Bars, BuildStats
from ash.bars.sides import infer_sides, prevailing_mid, split_volume
from ash.bars.spec import BarSpec

# Larger prints cannot be physical and would no longer sum exactly in float64 (2**53 ~ 9e15).
MAX_TRADE_SIZE: Final[float] = 1e15
_INF = np.inf
_CORE = {name: i for i, name in enumerate(CORE_COLUMNS)}


def build_bars(
    trades: pd.DataFrame | None,
    quotes: pd.DataFrame | None = None,
    *,
    spec: BarSpec | None = None,
    surface: pd.DataFrame | None = None,
    context: Bars | None = None,
    symbol: str | None = None,
    options: bool | None = None,
) -> Bars:
    """Bars of ONE symbol from canonical frames (see :mod:`ash.data.schema`).

    ``surface`` holds option-surface updates (``ts`` + OPTION_COLUMNS, see
    :func:`ash.bars.surface.surface_updates`); ``context`` the bars of a context symbol on the same
    spec. Each frame is read in its row order (its arrival order) and the feeds are merged by
    :func:`ash.bars.events.merge_feeds`.
    """
    names = [
        check_single_symbol(trades, "symbol", "trades") if trades is not None else None,
        check_single_symbol(quotes, "symbol", "quotes") if quotes is not None else None,
    ]
    found = {s for s in names if s is not None}
    if len(found) > 1:
        raise ValueError(f"trades and quotes are for different symbols: {sorted(found)}")
    trade_arrays = None
    if trades is not None:
        price, size = frame_fields(trades, TRADE_FIELDS[:2], "trades")
        has_side = "side" in trades.columns
        side = frame_fields(trades, ("side",), "trades")[0] if has_side else np.zeros(len(trades))
        trade_arrays = (frame_ts_ns(trades, "trades"), price, size, side)
    quote_arrays = None
    if quotes is not None:
        bid, ask, bid_size, ask_size = frame_fields(quotes, QUOTE_FIELDS, "quotes")
        quote_arrays = (frame_ts_ns(quotes, "quotes"), bid, ask, bid_size, ask_size)
    surface_arrays = None
    if surface is not None:
        values = np.column_stack(frame_fields(surface, OPTION_COLUMNS, "surface"))
        surface_arrays = (frame_ts_ns(surface, "surface"), values.reshape(-1, len(OPTION_COLUMNS)))
    if trade_arrays is None and quote_arrays is None:
        raise ValueError("build_bars needs trades or quotes (surface updates alone make no bars)")
    stream = merge_feeds(trade_arrays, quote_arrays, surface_arrays)
    return build_bars_from_stream(
        stream,
        spec or BarSpec(),
        symbol=symbol or (found.pop() if found else ""),
        context=context,
        options=options,
    )


def build_bars_from_stream(
    stream: EventStream,
    spec: BarSpec,
    *,
    symbol: str = "",
    context: Bars | None = None,
    options: bool | None = None,
) -> Bars:
    """Bars from an arrival-ordered event stream (the exact semantics of docs/bars.md)."""
    with_options = bool(len(stream.surface)) if options is None else options
    if len(stream.surface) and not with_options:
        raise ValueError("the stream has surface updates but options=False; pass options=True")
    columns = bar_columns(options=with_options, context=context is not None)
    if context is not None and context.spec.bar_ns != spec.bar_ns:
        raise ValueError(
            f"context bars are {context.spec.seconds} s but this build is {spec.seconds} s"
        )

    n = len(stream)
    kind, ts = stream.kind, stream.ts_ns
    is_trade, is_quote, is_surface = kind == TRADE, kind == QUOTE, kind == SURFACE
    unknown = ~(is_trade | is_quote | is_surface)
    if unknown.any():
        raise ValueError(f"event {int(np.flatnonzero(unknown)[0])} has unknown kind code")

    rejected = np.zeros(n, dtype=bool)
    counts: dict[str, int] = {}
    first: dict[str, int] = {}

    def reject(reason: str, condition: np.ndarray) -> None:
        counts[reason] = 0
        if condition.any():  # the common case (clean data) skips the bookkeeping
            new = condition & ~rejected
            counts[reason] = int(np.count_nonzero(new))
            if counts[reason]:
                first[reason] = int(np.argmax(new))
            rejected[new] = True

    x0, x1, x2, x3 = stream.x0, stream.x1, stream.x2, stream.x3
    reject("bad_timestamp", ts == NAT)
    reject("bad_price", is_trade & ~((x0 > 0) & (x0 < _INF)))
    reject("bad_size", is_trade & ~((x1 > 0) & (x1 <= MAX_TRADE_SIZE)))
    reject("bad_side", is_trade & ~((x2 == 0) | (x2 == 1) | (x2 == -1)))
    if is_quote.any():
        good_quote = (x0 > 0) & (x0 < _INF) & (x1 > 0) & (x1 < _INF)
        good_quote &= (x2 >= 0) & (x2 < _INF) & (x3 >= 0) & (x3 < _INF)
        reject("bad_quote", is_quote & ~good_quote)
        reject("crossed_quote", is_quote & (x1 < x0))
    else:
        counts["bad_quote"] = counts["crossed_quote"] = 0

    live = ~rejected
    if not live.any():
        for reason in REJECT_REASONS:
            counts.setdefault(reason, 0)
        return _empty(stream, spec, symbol, columns, counts, first)
    all_live = bool(live.all())
    live_ts = ts if all_live else ts[live]
    days = local_days(spec, int(live_ts.min()), int(live_ts.max()))
    # NaT rows are already rejected; give them a harmless time so the arithmetic stays sane.
    safe_ts = ts if all_live else np.where(live, ts, live_ts[0])
    day = days.day_of(safe_ts)
    day_start = days.starts[day]
    bar_ns = spec.bar_ns
    bar_in_day = (safe_ts - day_start) // bar_ns
    bar_start = day_start + bar_in_day * bar_ns

    if days.session_open is not None and days.session_close is not None:
        inside = (safe_ts >= days.session_open[day]) & (safe_ts < days.session_close[day])
        reject("outside_session", ~inside)
    else:
        counts["outside_session"] = 0

    # Late: its bar is earlier than the latest bar of any event accepted before it.
    key = np.where(rejected, np.iinfo(np.int64).min, bar_start)
    latest = np.maximum.accumulate(key)
    latest_before = np.empty_like(latest)
    latest_before[0] = np.iinfo(np.int64).min
    latest_before[1:] = latest[:-1]
    reject("late", bar_start < latest_before)
    stats = BuildStats(
        events=n,
        accepted_trades=int(np.count_nonzero(is_trade & ~rejected)),
        accepted_quotes=int(np.count_nonzero(is_quote & ~rejected)),
        accepted_surface=int(np.count_nonzero(is_surface & ~rejected)),
        rejected={reason: counts[reason] for reason in REJECT_REASONS},
        first_rejected=first,
    )

    market = ~rejected & ~is_surface
    if not market.any():
        return _empty(stream, spec, symbol, columns, counts, first)
    all_market = bool(market.all())
    m_idx = None if all_market else np.flatnonzero(market)

    def take(a: np.ndarray) -> np.ndarray:
        return a if m_idx is None else a[m_idx]

    grid = _segment_grid(take(ts), take(bar_start), take(bar_in_day), take(day), spec)
    m_kind = take(kind)
    m_is_trade = m_kind == TRADE
    m_is_quote = m_kind == QUOTE
    T = grid.n_bars

    values = np.zeros((T, len(columns)))
    bar_index = np.arange(T)

    # --- quotes: state at each bar's end, per segment
    q_sel = np.flatnonzero(m_is_quote) if m_is_quote.any() else np.zeros(0, dtype=np.int64)
    has_quote = np.zeros(T, dtype=bool)
    bid = ask = bid_size = ask_size = np.zeros(T)
    quote_mid = np.zeros(0)
    if len(q_sel):
        qpos, qseg = grid.pos[q_sel], grid.seg[q_sel]
        q_bid, q_ask = take(x0)[q_sel], take(x1)[q_sel]
        quote_mid = (q_bid + q_ask) / 2
        j, has_quote = _last_at_or_before(qpos, qseg, grid.bar_seg, bar_index)
        bid, ask = q_bid[j], q_ask[j]
        bid_size, ask_size = take(x2)[q_sel][j], take(x3)[q_sel][j]

    # --- trades: side inference and per-bar aggregates
    all_trades = bool(m_is_trade.all())

    def trade_rows(a: np.ndarray) -> np.ndarray:
        return a if all_trades else a[m_is_trade]

    tpos, tseg = trade_rows(grid.pos), trade_rows(grid.seg)
    price, size, true_side = trade_rows(take(x0)), trade_rows(take(x1)), trade_rows(take(x2))
    mid_before = None
    if len(quote_mid):
        quotes_before = trade_rows(np.cumsum(m_is_quote))
        mid_before = prevailing_mid(quotes_before, quote_mid, grid.seg[q_sel], tseg)
    seg_first_trade = np.ones(len(tseg), dtype=bool)
    seg_first_trade[1:] = tseg[1:] != tseg[:-1]
    side = infer_sides(true_side, price, mid_before, seg_first_trade)
    buy, sell = split_volume(size, side)

    count = np.bincount(tpos, minlength=T).astype(np.float64)
    volume = np.bincount(tpos, weights=size, minlength=T)
    notional = np.bincount(tpos, weights=price * size, minlength=T)
    buy_volume = np.bincount(tpos, weights=buy, minlength=T)
    sell_volume = np.bincount(tpos, weights=sell, minlength=T)

    open_ = np.zeros(T)
    high = np.zeros(T)
    low = np.zeros(T)
    close = np.zeros(T)
    vwap = np.zeros(T)
    traded = count > 0
    if len(tpos):
        firsts = np.flatnonzero(np.concatenate(([True], tpos[1:] != tpos[:-1])))
        lasts = np.concatenate((firsts[1:] - 1, [len(tpos) - 1]))
        bars_with = tpos[firsts]
        open_[bars_with] = price[firsts]
        close[bars_with] = price[lasts]
        high[bars_with] = np.maximum.reduceat(price, firsts)
        low[bars_with] = np.minimum.reduceat(price, firsts)
        vwap[traded] = notional[traded] / volume[traded]
        j, has_prior = _last_at_or_before(
            bars_with, grid.bar_seg[bars_with], grid.bar_seg, bar_index
        )
        last_close = close[bars_with][j]
    else:
        has_prior = np.zeros(T, dtype=bool)
        last_close = np.zeros(T)
    quote_mid_bar = (bid + ask) / 2
    # Empty bar: previous close of the segment; before the segment's first trade: the quote mid.
    fill = np.where(has_prior, last_close, quote_mid_bar)
    for target in (open_, high, low, close, vwap):
        target[~traded] = fill[~traded]

    mid = np.where(has_quote, quote_mid_bar, close)
    core = {
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "vwap": vwap,
        "volume": volume,
        "buy_volume": buy_volume,
        "sell_volume": sell_volume,
        "trade_count": count,
        "bid": np.where(has_quote, bid, mid),
        "ask": np.where(has_quote, ask, mid),
        "mid": mid,
        "spread": np.where(has_quote, ask - bid, 0.0),
        "bid_size": np.where(has_quote, bid_size, 0.0),
        "ask_size": np.where(has_quote, ask_size, 0.0),
        "session_start": np.zeros(T),
        "time_of_day": (grid.bar_ts - days.starts[days.day_of(grid.bar_ts)]) / 1e9,
    }
    core["session_start"][grid.segment_starts] = 1.0
    for name, i in _CORE.items():
        values[:, i] = core[name]

    if with_options:
        start = len(CORE_COLUMNS)
        values[:, start : start + len(OPTION_COLUMNS)] = _surface_state(
            stream, ~rejected & is_surface, bar_start, grid.bar_ts
        )
    if context is not None:
        values[:, len(columns) - len(CONTEXT_COLUMNS) :] = _context_columns(context, grid.bar_ts)

    return Bars(
        symbol=symbol,
        spec=spec,
        columns=columns,
        ts_ns=grid.bar_ts,
        values=values,
        segment_starts=grid.segment_starts,
        stats=stats,
        has_quotes=bool(len(quote_mid)),
    )


class _Grid:
    """Segments and bar positions of the accepted market events (trades and quotes)."""

    def __init__(self, seg: I64, pos: I64, bar_ts: I64, bar_seg: I64, segment_starts: I64):
        self.seg, self.pos = seg, pos
        self.bar_ts, self.bar_seg, self.segment_starts = bar_ts, bar_seg, segment_starts
        self.n_bars = len(bar_ts)


def _segment_grid(ts: I64, bar_start: I64, bar_in_day: I64, day: I64, spec: BarSpec) -> _Grid:
    """A new segment at the first event, a new local day, or a gap > gap_seconds."""
    n = len(ts)
    new = np.ones(n, dtype=bool)
    if n > 1:
        newest_before = np.maximum.accumulate(ts)[:-1]
        new[1:] = (day[1:] != day[:-1]) | (ts[1:] - newest_before > spec.gap_ns)
    seg = np.cumsum(new) - 1
    is_last = np.ones(n, dtype=bool)
    is_last[:-1] = new[1:]
    bar_ns = spec.bar_ns
    first_bar, last_bar = bar_start[new], bar_start[is_last]
    n_bars = (last_bar - first_bar) // bar_ns + 1
    offsets = np.concatenate(([0], np.cumsum(n_bars)[:-1])).astype(np.int64)
    # A segment lies within one local day, so bar distances are differences of day indices.
    pos = offsets[seg] + (bar_in_day - bar_in_day[new][seg])
    n_total = int(n_bars.sum())
    bar_seg = np.repeat(np.arange(len(n_bars), dtype=np.int64), n_bars)
    bar_ts = np.repeat(first_bar - offsets * bar_ns, n_bars) + np.arange(n_total) * bar_ns
    return _Grid(seg.astype(np.int64), pos.astype(np.int64), bar_ts, bar_seg, offsets)


def _last_at_or_before(pos: I64, seg: I64, bar_seg: I64, bar_index: I64) -> tuple[I64, np.ndarray]:
    """For each bar, the last item with position <= bar in the same segment: (index, found)."""
    j = np.searchsorted(pos, bar_index, side="right") - 1
    safe = np.maximum(j, 0)
    found = (j >= 0) & (seg[safe] == bar_seg)
    return safe, found


def _surface_state(stream: EventStream, accepted: np.ndarray, bar_start: I64, bar_ts: I64) -> F64:
    """Per bar and option column, the latest non-NaN value of an accepted update (0 before any)."""
    T = len(bar_ts)
    out = np.zeros((T, len(OPTION_COLUMNS)))
    is_surface = stream.kind == SURFACE
    rows = (np.cumsum(is_surface) - 1)[accepted]
    if not len(rows):
        return out
    # An update applies from the bar containing it, or the next bar if it fell between segments.
    effective = np.searchsorted(bar_ts, bar_start[accepted], side="left")
    bars = np.arange(T)
    for k in range(len(OPTION_COLUMNS)):
        values = stream.surface[rows, k]
        known = ~np.isnan(values)
        j = np.searchsorted(effective[known], bars, side="right") - 1
        column = values[known]
        out[:, k] = np.where(j >= 0, column[np.maximum(j, 0)] if len(column) else 0.0, 0.0)
    return out


def _context_columns(context: Bars, bar_ts: I64) -> F64:
    """ctx_close/ctx_mid: the context bar at or before (else its first bar); volumes: exact bar."""
    out = np.zeros((len(bar_ts), len(CONTEXT_COLUMNS)))
    if len(context) == 0:
        return out
    j = np.maximum(np.searchsorted(context.ts_ns, bar_ts, side="right") - 1, 0)
    exact = context.ts_ns[j] == bar_ts
    for k, name in enumerate(CONTEXT_COLUMNS):
        source = context.column(name.removeprefix("ctx_"))[j]
        out[:, k] = source if name in ("ctx_close", "ctx_mid") else np.where(exact, source, 0.0)
    return out


def _empty(
    stream: EventStream,
    spec: BarSpec,
    symbol: str,
    columns: tuple[str, ...],
    counts: dict[str, int],
    first: dict[str, int],
) -> Bars:
    kind = stream.kind
    rejected = {reason: counts.get(reason, 0) for reason in REJECT_REASONS}
    accepted = len(stream) - sum(rejected.values())
    n_surface = int(np.count_nonzero(kind == SURFACE))
    return Bars(
        symbol=symbol,
        spec=spec,
        columns=columns,
        ts_ns=np.zeros(0, dtype=np.int64),
        values=np.zeros((0, len(columns))),
        segment_starts=np.zeros(0, dtype=np.int64),
        stats=BuildStats(
            events=len(stream),
            accepted_trades=0,
            accepted_quotes=0,
            accepted_surface=min(n_surface, accepted),
            rejected=rejected,
            first_rejected=dict(first),
        ),
        has_quotes=False,
    )


__all__ = ["MAX_TRADE_SIZE", "LocalDays", "build_bars", "build_bars_from_stream"]
