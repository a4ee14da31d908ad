"""A tick-by-tick (streaming) reference of the bar builder, written the way inference-rs does it.

Slow on purpose: one Python step per event, no vectorization. Tests assert that the vectorized
builder gives bit-identical bars and counts, which is what lets a streaming Rust port reproduce
the committed vectors exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ash.bars.builder import MAX_TRADE_SIZE
from ash.bars.calendar import local_days
from ash.bars.columns import CORE_COLUMNS, OPTION_COLUMNS
from ash.bars.events import NAT, QUOTE, SURFACE, TRADE, EventStream
from ash.bars.result import REJECT_REASONS
from ash.bars.spec import BarSpec


@dataclass
class _Open:
    start: int
    first_of_segment: bool
    count: int = 0
    open: float = 0.0
    high: float = 0.0
    low: float = 0.0
    close: float = 0.0
    volume: float = 0.0
    notional: float = 0.0
    buy: float = 0.0
    sell: float = 0.0


@dataclass
class _Segment:
    day_start: int
    quote: tuple[float, float, float, float] | None = None
    last_close: float | None = None
    last_price: float | None = None
    last_tick: float = 0.0


@dataclass
class StreamingBuilder:
    spec: BarSpec
    with_options: bool
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REJECT_REASONS, 0))
    rows: list[list[float]] = field(default_factory=list)
    bar_ts: list[int] = field(default_factory=list)
    segment_starts: list[int] = field(default_factory=list)

    def run(self, stream: EventStream) -> None:
        live = stream.ts_ns[stream.ts_ns != NAT]
        days = local_days(self.spec, int(live.min()), int(live.max())) if len(live) else None
        latest_bar: int | None = None
        latest_ts: int | None = None
        last_day: int | None = None
        seg: _Segment | None = None
        bar: _Open | None = None
        surface_state = [0.0] * len(OPTION_COLUMNS)
        pending: list[tuple[int, list[float]]] = []
        surface_row = 0
        dt = self.spec.bar_ns

        def finalize(b: _Open) -> None:
            nonlocal pending
            keep = []
            for start, values in pending:
                if start <= b.start:
                    for k, v in enumerate(values):
                        if not math.isnan(v):
                            surface_state[k] = v
                else:
                    keep.append((start, values))
            pending = keep
            assert seg is not None
            q = seg.quote
            if b.count:
                o, h, lo, c, vw = b.open, b.high, b.low, b.close, b.notional / b.volume
                seg.last_close = c
            elif seg.last_close is not None:
                o = h = lo = c = vw = seg.last_close
            else:
                assert q is not None
                o = h = lo = c = vw = (q[0] + q[1]) / 2
            if q is not None:
                bid, ask, bs, az = q
                mid, spread = (bid + ask) / 2, ask - bid
            else:
                mid, spread = c, 0.0
                bid = ask = mid
                bs = az = 0.0
            row = [
                o,
                h,
                lo,
                c,
                vw,
                b.volume,
                b.buy,
                b.sell,
                float(b.count),
                bid,
                ask,
                mid,
                spread,
                bs,
                az,
                1.0 if b.first_of_segment else 0.0,
                (b.start - seg.day_start) / 1e9,
            ]
            if self.with_options:
                row += surface_state
            if b.first_of_segment:
                self.segment_starts.append(len(self.rows))
            self.rows.append(row)
            self.bar_ts.append(b.start)

        for i in range(len(stream)):
            kind, ts = int(stream.kind[i]), int(stream.ts_ns[i])
            x0, x1, x2, x3 = (
                float(stream.x0[i]),
                float(stream.x1[i]),
                float(stream.x2[i]),
                float(stream.x3[i]),
            )
            values = None
            if kind == SURFACE:
                values = [float(v) for v in stream.surface[surface_row]]
                surface_row += 1
            reason = None
            if ts == NAT:
                reason = "bad_timestamp"
            elif kind == TRADE and not (0 < x0 < math.inf):
                reason = "bad_price"
            elif kind == TRADE and not (0 < x1 <= MAX_TRADE_SIZE):
                reason = "bad_size"
            elif kind == TRADE and x2 not in (-1.0, 0.0, 1.0):
                reason = "bad_side"
            elif kind == QUOTE and not (
                0 < x0 < math.inf
                and 0 < x1 < math.inf
                and 0 <= x2 < math.inf
                and 0 <= x3 < math.inf
            ):
                reason = "bad_quote"
            elif kind == QUOTE and x1 < x0:
                reason = "crossed_quote"
            if reason is None:
                assert days is not None
                d = int(days.day_of(np.array([ts]))[0])
                day_start = int(days.starts[d])
                bar_start = day_start + (ts - day_start) // dt * dt
                if (
                    days.session_open is not None
                    and days.session_close is not None
                    and not (days.session_open[d] <= ts < days.session_close[d])
                ):
                    reason = "outside_session"
                elif latest_bar is not None and bar_start < latest_bar:
                    reason = "late"
            if reason is not None:
                self.rejected[reason] += 1
                continue
            latest_bar = bar_start if latest_bar is None else max(latest_bar, bar_start)
            if kind == SURFACE:
                assert values is not None
                pending.append((bar_start, values))
                continue
            new_segment = (
                seg is None
                or d != last_day
                or (latest_ts is not None and ts - latest_ts > self.spec.gap_ns)
            )
            latest_ts = ts if latest_ts is None else max(latest_ts, ts)
            last_day = d
            if new_segment:
                if bar is not None:
                    finalize(bar)
                seg = _Segment(day_start=day_start)
                bar = _Open(start=bar_start, first_of_segment=True)
            else:
                assert bar is not None
                while bar.start < bar_start:
                    finalize(bar)
                    bar = _Open(start=bar.start + dt, first_of_segment=False)
            assert seg is not None and bar is not None
            if kind == QUOTE:
                seg.quote = (x0, x1, x2, x3)
                continue
            price, size = x0, x1
            if seg.last_price is not None and price != seg.last_price:
                seg.last_tick = 1.0 if price > seg.last_price else -1.0
            seg.last_price = price
            side = x2
            if side == 0 and seg.quote is not None:
                mid = (seg.quote[0] + seg.quote[1]) / 2
                side = 1.0 if price > mid else (-1.0 if price < mid else 0.0)
            if side == 0:
                side = seg.last_tick
            if bar.count == 0:
                bar.open = bar.high = bar.low = price
            bar.high, bar.low, bar.close = max(bar.high, price), min(bar.low, price), price
            bar.count += 1
            bar.volume += size
            bar.notional += price * size
            bar.buy += size if side > 0 else (size * 0.5 if side == 0 else 0.0)
            bar.sell += size if side < 0 else (size * 0.5 if side == 0 else 0.0)
        if bar is not None:
            finalize(bar)

    def values(self) -> np.ndarray:
        width = len(CORE_COLUMNS) + (len(OPTION_COLUMNS) if self.with_options else 0)
        return np.array(self.rows, dtype=np.float64).reshape(-1, width)


def reference_bars(
    stream: EventStream, spec: BarSpec, with_options: bool = False
) -> StreamingBuilder:
    """Run the streaming reference over a whole stream."""
    builder = StreamingBuilder(spec=spec, with_options=with_options)
    builder.run(stream)
    return builder
