"""Language-neutral bar-builder test vectors (tests/vectors/bars/*.json) for inference-rs.

Each file is one case: a BarSpec, input events in arrival order and the expected bars, segment
starts and counts. The format (:mod:`ash.testing.vector_format`) is specified in docs/bars.md
("Test vectors").

``python -m ash.testing.bar_vectors`` rewrites the files; tests assert the committed files equal
what the current Python builder produces.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

import numpy as np

from ash.bars.spec import BarSpec
from ash.paths import repo_root
from ash.testing.lean_sample import quote_events, trade_ticks
from ash.testing.vector_format import (
    FORMAT,
    Events,
    Json,
    dumps,
    local_ns,
    make_case,
    stream_from_json,
)

__all__ = ["CASES", "FORMAT", "VECTOR_DIR", "dumps", "make_case", "stream_from_json", "write_all"]

VECTOR_DIR: Final[Path] = repo_root() / "tests" / "vectors" / "bars"

D = "2013-10-07 "  # a Monday; 09:30 New York = 13:30 UTC


def _plain() -> Json:
    ev = (
        Events()
        .quote(D + "09:30:00.000", 100.00, 100.02, 300, 500)
        .trade(D + "09:30:00.100", 100.02, 100)
        .trade(D + "09:30:00.500", 100.01, 200)
        .trade(D + "09:30:00.900", 100.03, 50)
        .quote(D + "09:30:01.200", 100.01, 100.03, 400, 100)
        .trade(D + "09:30:01.300", 100.03, 300)
        .trade(D + "09:30:02.999", 100.00, 100)
    )
    return make_case(
        "plain", "trades and quotes over three consecutive seconds", BarSpec(), ev.rows
    )


def _empty_seconds() -> Json:
    ev = (
        Events()
        .quote(D + "09:30:00.000", 100.00, 100.02)
        .trade(D + "09:30:00.100", 100.01, 100)
        .quote(D + "09:30:02.500", 100.02, 100.04)
        .trade(D + "09:30:05.100", 100.03, 100)
    )
    return make_case(
        "empty_seconds",
        "empty bars repeat the last close, zero volumes, forward-filled quotes",
        BarSpec(),
        ev.rows,
    )


def _late() -> Json:
    ev = (
        Events()
        .trade(D + "09:30:00.100", 100.00, 100)
        .trade(D + "09:30:02.100", 100.01, 100)
        .trade(D + "09:30:01.900", 100.50, 999)  # bar 1 < bar 2 already seen: late
        .trade(D + "09:30:02.050", 100.02, 100)  # earlier ts, same bar: accepted (arrival order)
        .quote(D + "09:30:00.500", 99.0, 99.1)  # late quote
        .trade(D + "09:30:03.000", 100.03, 100)
    )
    return make_case(
        "late_events", "out-of-order events: late ones are rejected and counted", BarSpec(), ev.rows
    )


def _duplicates() -> Json:
    ev = Events().quote(D + "09:30:00.000", 100.00, 100.02)
    for _ in range(3):
        ev.trade(D + "09:30:00.250", 100.01, 100)
    ev.quote(D + "09:30:00.000", 100.00, 100.02)  # duplicate quote
    ev.trade(D + "09:30:01.250", 100.02, 100).trade(D + "09:30:01.250", 100.02, 100)
    return make_case(
        "duplicates",
        "exact duplicate prints are kept (legitimate on real tapes)",
        BarSpec(),
        ev.rows,
    )


def _bad_values() -> Json:
    ev = (
        Events()
        .quote(D + "09:30:00.000", 100.00, 100.02)
        .trade(D + "09:30:00.100", 100.01, 100)
        .trade(D + "09:30:00.200", 0.0, 100)
        .trade(D + "09:30:00.300", -100.01, 100)
        .trade(D + "09:30:00.400", math.nan, 100)
        .trade(D + "09:30:00.500", math.inf, 100)
        .trade(D + "09:30:00.600", 100.01, 0.0)
        .trade(D + "09:30:00.700", 100.01, -5.0)
        .trade(D + "09:30:00.800", 100.01, math.nan)
        .trade(D + "09:30:00.850", 100.01, 100, side=3)
        .trade(None, 100.01, 100)
        .quote(D + "09:30:00.900", 0.0, 100.02)
        .quote(D + "09:30:00.950", 100.00, math.nan)
        .quote(D + "09:30:00.960", 100.00, 100.02, math.nan, 100)
        .trade(D + "09:30:01.100", 100.02, 100)
    )
    return make_case(
        "bad_values",
        "zero/negative/NaN/inf prices, bad sizes and sides, NaT, bad quotes",
        BarSpec(),
        ev.rows,
    )


def _huge() -> Json:
    ev = (
        Events()
        .trade(D + "09:30:00.100", 100.01, 1e12)
        .trade(D + "09:30:00.200", 100.02, 9.99e14)
        .trade(D + "09:30:00.300", 100.03, 1.0)
        .trade(D + "09:30:00.400", 100.04, 2e15)  # above MAX_TRADE_SIZE: rejected
        .trade(D + "09:30:01.400", 100.04, 3)
    )
    return make_case(
        "huge_prints",
        "huge sizes sum in float64; sizes above 1e15 are rejected",
        BarSpec(),
        ev.rows,
    )


def _crossed() -> Json:
    ev = (
        Events()
        .quote(D + "09:30:00.000", 100.00, 100.02)
        .quote(D + "09:30:00.300", 100.05, 100.01)  # crossed: rejected
        .quote(D + "09:30:00.400", 100.01, 100.01)  # locked: accepted
        .trade(D + "09:30:00.500", 100.01, 100)
        .quote(D + "09:30:01.300", 100.03, 100.02)  # crossed
    )
    return make_case(
        "crossed_quotes", "crossed quotes are rejected, locked quotes kept", BarSpec(), ev.rows
    )


def _overnight() -> Json:
    ev = (
        Events()
        .trade(D + "09:29:59.000", 100.00, 100)  # outside the session window
        .trade(D + "15:59:58.500", 100.00, 100)
        .quote(D + "15:59:59.000", 100.00, 100.02)
        .trade(D + "15:59:59.900", 100.01, 100)
        .trade(D + "16:00:00.000", 100.01, 100)  # outside
        .trade("2013-10-08 09:30:00.500", 101.00, 100)
        .trade("2013-10-08 09:30:02.500", 101.02, 100)
    )
    return make_case(
        "session_boundary",
        "overnight: a new segment on a new day; the session "
        "window drops events outside 09:30-16:00",
        BarSpec(session="09:30-16:00"),
        ev.rows,
    )


def _gap() -> Json:
    ev = (
        Events()
        .quote(D + "11:00:00.000", 100.00, 100.02)
        .trade(D + "11:00:00.500", 100.01, 100)
        .trade(D + "11:00:01.500", 100.02, 100)
        .trade(D + "11:00:12.000", 100.03, 100)  # gap 10.5 s > 10 s: new segment, quote state reset
        .quote(D + "11:00:13.500", 100.02, 100.04)
        .trade(D + "11:00:14.000", 100.03, 100)
    )
    return make_case(
        "intraday_gap",
        "a gap longer than gap_seconds starts a new segment",
        BarSpec(gap_seconds=10.0),
        ev.rows,
    )


def _trades_only() -> Json:
    ev = Events()
    for i, (p, s) in enumerate(
        [(100.0, 100), (100.01, 50), (100.01, 25), (100.0, 10), (100.02, 5)]
    ):
        ev.trade(f"{D}09:30:0{i // 2}.{i}00", p, s)
    return make_case(
        "trades_only", "no quotes: mid = close, spread 0, bid = ask = close", BarSpec(), ev.rows
    )


def _quotes_only() -> Json:
    ev = (
        Events()
        .quote(D + "09:30:00.100", 100.00, 100.02, 100, 200)
        .quote(D + "09:30:02.100", 100.01, 100.03, 300, 400)
    )
    return make_case(
        "quotes_only", "no trades: prices are the quote mid, volumes zero", BarSpec(), ev.rows
    )


def _sides() -> Json:
    ev = (
        Events()
        .trade(D + "09:30:00.100", 100.00, 100)  # no quote, first trade: unknown -> half/half
        .trade(D + "09:30:00.200", 100.01, 100)  # uptick: buy
        .trade(D + "09:30:00.300", 100.01, 100)  # zero tick: last non-zero tick (buy)
        .trade(D + "09:30:00.400", 100.00, 100)  # downtick: sell
        .trade(D + "09:30:00.500", 100.00, 7, side=1)  # true side wins
        .quote(D + "09:30:00.600", 100.00, 100.02)
        .trade(D + "09:30:00.700", 100.02, 100)  # above mid: buy
        .trade(D + "09:30:00.800", 100.00, 100)  # below mid: sell
        .trade(D + "09:30:00.900", 100.01, 100)  # at mid: tick rule (uptick) buy
        .trade(D + "09:30:01.000", 100.01, 100)  # at mid, zero tick: buy
        .trade(D + "09:30:01.100", 100.02, 11, side=-1)  # true side
    )
    return make_case(
        "side_inference",
        "true side, quote rule against the prevailing mid, tick rule",
        BarSpec(),
        ev.rows,
    )


def _surface() -> Json:
    ev = (
        Events()
        .surface(
            D + "09:29:58.000", atm_iv_7d=0.21, atm_iv_30d=0.19, atm_iv_90d=0.18, term_slope=-0.03
        )
        .quote(D + "09:30:00.000", 100.00, 100.02)
        .trade(D + "09:30:00.100", 100.01, 100)
        .surface(D + "09:30:01.500", atm_iv_7d=0.22, pc_volume_ratio=1.3)  # others keep values
        .trade(D + "09:30:02.100", 100.02, 100)
        .surface(D + "09:30:02.200", atm_iv_30d=0.2)
        .surface(D + "09:30:01.900", atm_iv_30d=0.5)  # late: rejected
    )
    return make_case(
        "option_surface",
        "surface updates forward-fill per column; NaN keeps the "
        "previous value; 0 before the first update",
        BarSpec(),
        ev.rows,
    )


def _ms100() -> Json:
    ev = (
        Events()
        .quote(D + "09:30:00.000", 100.00, 100.02)
        .trade(D + "09:30:00.050", 100.01, 100)
        .trade(D + "09:30:00.120", 100.02, 100)
        .trade(D + "09:30:00.199", 100.00, 100)
        .trade(D + "09:30:00.450", 100.01, 100)
    )
    return make_case("bars_100ms", "100 ms bars", BarSpec(seconds=0.1), ev.rows)


def _spy() -> Json:
    day = "20131007"
    start, end = local_ns("2013-10-07 10:00:00"), local_ns("2013-10-07 10:01:30")
    trades = trade_ticks(day)
    trades = trades[(trades["ts_ns"] >= start) & (trades["ts_ns"] < end)]
    quotes = quote_events(day)
    quotes = quotes[(quotes["ts_ns"] >= start) & (quotes["ts_ns"] < end)]
    rows: list[tuple[int, int, Json]] = []
    for t, p, s in zip(trades["ts_ns"], trades["price"], trades["size"], strict=True):
        rows.append(
            (
                int(t),
                1,
                {"kind": "trade", "ts_ns": int(t), "price": float(p), "size": float(s), "side": 0},
            )
        )
    q_cols = [quotes[c].to_numpy(np.float64) for c in ("bid", "ask", "bid_size", "ask_size")]
    for t, bid, ask, bid_size, ask_size in zip(
        quotes["ts_ns"].to_numpy(np.int64), *q_cols, strict=True
    ):
        quote = {
            "kind": "quote",
            "ts_ns": int(t),
            "bid": float(bid),
            "ask": float(ask),
            "bid_size": float(bid_size),
            "ask_size": float(ask_size),
        }
        rows.append((int(t), 0, quote))
    rows.sort(key=lambda r: (r[0], r[1]))  # stable: quotes first on ties, then file order
    return make_case(
        "spy_20131007_1000",
        "SPY 2013-10-07 10:00:00-10:01:30 NY: every trade print "
        "and Lean's 1 s quote closes (stamped 1 ns before each second ends)",
        BarSpec(),
        [r[2] for r in rows],
    )


def _context() -> Json:
    ev = Events()
    for k in range(12):
        ev.quote(f"{D}09:30:{k:02d}.000", 100.00 + k * 0.01, 100.02 + k * 0.01)
        ev.trade(f"{D}09:30:{k:02d}.400", 100.01 + k * 0.01, 100 + k)
    ctx = (
        Events()
        .quote(D + "09:30:02.100", 1699.75, 1700.25)  # first context bar: second 2
        .trade(D + "09:30:02.200", 1700.00, 10, side=1)
        .trade(D + "09:30:03.200", 1700.25, 20)  # tick rule: buy
        .trade(D + "09:30:02.900", 1690.00, 99)  # late: rejected
        .quote(D + "09:30:05.100", 1700.00, 1700.50)  # second 4 empty: a filled bar
        .trade(D + "09:30:05.300", 1700.00, 30)  # below mid: sell
        .trade(D + "09:30:10.300", 1701.00, 40)  # gap 5 s > 3 s: new segment, no bars 6..9
    )
    return make_case(
        "context_columns",
        "ctx_* columns from a context symbol's bars: prices at or before (its first bar before "
        "it starts, the last bar across its gap), volumes only from the exact bar",
        BarSpec(gap_seconds=3.0),
        ev.rows,
        ctx.rows,
    )


CASES: Final[dict[str, Callable[[], Json]]] = {
    "plain": _plain,
    "empty_seconds": _empty_seconds,
    "late_events": _late,
    "duplicates": _duplicates,
    "bad_values": _bad_values,
    "huge_prints": _huge,
    "crossed_quotes": _crossed,
    "session_boundary": _overnight,
    "intraday_gap": _gap,
    "trades_only": _trades_only,
    "quotes_only": _quotes_only,
    "side_inference": _sides,
    "option_surface": _surface,
    "bars_100ms": _ms100,
    "spy_20131007_1000": _spy,
    "context_columns": _context,
}


def write_all(directory: Path = VECTOR_DIR) -> list[Path]:
    """Regenerate every vector file."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in CASES.items():
        path = directory / f"{name}.json"
        path.write_text(dumps(make()))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    target = Path(argv[0]) if argv else VECTOR_DIR
    for path in write_all(target):
        print(f"wrote {path} ({path.stat().st_size / 1024:.1f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
