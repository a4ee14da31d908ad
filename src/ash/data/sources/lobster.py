"""LOBSTER message + orderbook files (https://lobsterdata.com), level 1 or deeper.

- ``*_message_<L>.csv``: ``time (s after midnight, NY wall clock, up to ns), type, order_id, size,
  price x 10000, direction``. Types: 1 submit, 2 partial cancel, 3 delete, 4 visible execution,
  5 hidden execution, 7 trading halt.
- ``*_orderbook_<L>.csv``: row-aligned with the messages; the book *after* each message:
  ``ask_1, ask_size_1, bid_1, bid_size_1, ...``. Empty levels are +-9999999999 with size 0.

Trades: every execution (types 4 and 5) becomes a trade with its **true side**: the direction is
the side of the resting limit order that was hit, so a sell limit order executed (direction -1)
is a buyer-initiated trade (side +1) and vice versa.

Quotes: the level-1 book after each message; consecutive identical quotes are collapsed (counted
as ``unchanged_quote``); rows where one side of the book is empty are dropped (counted as
``empty_book_side``).

Halts (type 7): returned as a frame ``ts, symbol, state`` with state ``halt`` (price -1),
``quoting`` (price 0) or ``resume`` (price 1), logged, and stored by import in the ``halts``
table that profiling reads.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from pydantic import Field

from ash.data.sources.canonical import clean, empty_frame, filter_frame, rechunk, to_canonical
from ash.data.sources.report import DataError, ImportReport
from ash.data.sources.vendor_files import (
    keep_within_day,
    local_time_of_day_to_utc,
    parse_day,
    read_member_bytes,
    read_numeric_csv,
)
from ash.interfaces import ComponentConfig, EventKind, Source

log = logging.getLogger(__name__)

PRICE_SCALE = 10_000.0
EMPTY_LEVEL = 9_999_999_999
MESSAGE_COLUMNS = (
    ("time", "num"),
    ("type", "num"),
    ("order_id", "num"),
    ("size", "num"),
    ("price", "num"),
    ("direction", "num"),
)
HALT_STATES = {-1: "halt", 0: "quoting", 1: "resume"}
_NAME = re.compile(
    r"^(?P<symbol>[A-Za-z0-9.\-]+)_(?P<day>\d{4}-\d{2}-\d{2})_(?P<start>\d+)_(?P<end>\d+)_"
    r"message_(?P<level>\d+)\.csv$"
)


@dataclass(frozen=True)
class LobsterPair:
    """A message file with its row-aligned orderbook file."""

    message: Path
    orderbook: Path
    symbol: str
    day: pd.Timestamp


@dataclass
class LobsterDay:
    """Everything one LOBSTER day yields, plus the counts of what was dropped or repaired."""

    trades: pd.DataFrame
    quotes: pd.DataFrame
    halts: pd.DataFrame
    trades_report: ImportReport
    quotes_report: ImportReport


def find_lobster_pairs(path: Path, symbol: str | None = None) -> list[LobsterPair]:
    """Message/orderbook pairs at ``path`` (a message file or a folder), by day."""
    messages = [path] if path.is_file() else sorted(path.rglob("*_message_*.csv"))
    pairs: list[LobsterPair] = []
    for m in messages:
        match = _NAME.match(m.name)
        if match is None:
            raise DataError(
                "not a LOBSTER message file name",
                path=m,
                fix="name it TICKER_YYYY-MM-DD_START_END_message_LEVEL.csv as LOBSTER does",
            )
        book = m.with_name(m.name.replace("_message_", "_orderbook_"))
        if not book.exists():
            raise DataError(
                f"the orderbook file {book.name} that pairs with this message file is missing",
                path=m,
                fix="put both LOBSTER files of the day in the same folder",
            )
        sym = match.group("symbol").upper()
        if symbol and sym != symbol.upper():
            continue
        pairs.append(LobsterPair(m, book, sym, parse_day(match.group("day"))))
    if not pairs:
        raise DataError("no LOBSTER message files found", path=path, fix="check the path")
    return sorted(pairs, key=lambda p: (p.day, p.symbol))


def load_lobster_day(
    message_csv: str | Path, orderbook_csv: str | Path, symbol: str, day: str | pd.Timestamp
) -> LobsterDay:
    """Trades (true side), level-1 quotes and halts of one LOBSTER day."""
    msg_bytes, msg_origin = read_member_bytes(Path(message_csv))
    book_bytes, book_origin = read_member_bytes(Path(orderbook_csv))
    msg = read_numeric_csv(msg_bytes, msg_origin, MESSAGE_COLUMNS)
    n_book_cols = _count_fields(book_bytes)
    if n_book_cols < 4 or n_book_cols % 4:
        raise DataError(
            f"an orderbook file has 4 fields per level; the first line has {n_book_cols}",
            path=book_origin,
            line=1,
            fix="pass the LOBSTER orderbook file that belongs to the message file",
        )
    book = read_numeric_csv(
        book_bytes, book_origin, [(f"c{i}", "num") for i in range(n_book_cols)]
    ).iloc[:, :4]
    book.columns = pd.Index(["ask", "ask_size", "bid", "bid_size"])
    if len(book) != len(msg):
        raise DataError(
            f"the orderbook has {len(book):,} rows but the message file has {len(msg):,}; "
            "they must be row-aligned",
            path=book_origin,
            fix="one of the two files is truncated; re-download both",
        )
    _check_message_values(msg, msg_origin)

    sym = symbol.upper()
    kind = msg["type"].to_numpy().astype("int64")
    trades_report = ImportReport(f"{msg_origin} (executions)")
    quotes_report = ImportReport(book_origin)
    # A time outside the file's own day would land on another date: drop and count it.
    time_ns = msg["time"].to_numpy(dtype="float64") * 1e9
    in_day = keep_within_day(time_ns, quotes_report)
    trades_report.drop("time_outside_file_day", int((~in_day & np.isin(kind, (4, 5))).sum()))
    ts = local_time_of_day_to_utc(
        parse_day(day), np.round(np.where(in_day, time_ns, 0.0)).astype("int64")
    )

    # Duplicate messages with the same order id are the same event twice (a file join gone
    # wrong); hidden executions have order id 0, so identical ones may be genuine.
    dup = msg.duplicated(keep="first").to_numpy() & (msg["order_id"].to_numpy() != 0)
    if dup.any():
        trades_report.drop("duplicate_message", int((dup & np.isin(kind, (4, 5))).sum()))
        quotes_report.drop("duplicate_message", int(dup.sum()))
    keep = ~dup & in_day

    is_exec = np.isin(kind, (4, 5)) & keep
    trades = pd.DataFrame(
        {
            "ts": ts[is_exec].to_numpy(),
            "symbol": sym,
            "price": msg["price"].to_numpy()[is_exec] / PRICE_SCALE,
            "size": msg["size"].to_numpy()[is_exec],
            "side": -msg["direction"].to_numpy()[is_exec].astype("int8"),
        }
    )
    trades = clean(to_canonical(trades, "trades", origin=msg_origin), "trades", trades_report)

    quotes = _quotes(book.loc[keep], ts[keep], sym, quotes_report, book_origin)

    is_halt = (kind == 7) & keep
    halts = pd.DataFrame(
        {
            "ts": ts[is_halt].to_numpy(),
            "symbol": sym,
            "state": [HALT_STATES.get(int(p), f"unknown({int(p)})") for p in msg["price"][is_halt]],
        }
    )
    halts["ts"] = halts["ts"].astype("datetime64[ns, UTC]")
    for row in halts.itertuples():
        log.info("%s: trading %s at %s", sym, row.state, row.ts)
    trades_report.notes.append(f"{len(halts)} halt messages (type 7)")
    return LobsterDay(trades, quotes, halts, trades_report, quotes_report)


def load_lobster(
    message_csv: str | Path, orderbook_csv: str | Path, symbol: str, day: str | pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical ``(trades, quotes)`` of one LOBSTER day; halts are in ``trades.attrs['halts']``."""
    d = load_lobster_day(message_csv, orderbook_csv, symbol, day)
    d.trades.attrs["halts"] = d.halts
    return d.trades, d.quotes


def _quotes(
    book: pd.DataFrame,
    ts: pd.Series,
    sym: str,
    report: ImportReport,
    origin: str,  # type: ignore[type-arg]
) -> pd.DataFrame:
    report.rows_read += len(book)
    ask = book["ask"].to_numpy()
    bid = book["bid"].to_numpy()
    empty = (np.abs(ask) >= EMPTY_LEVEL) | (np.abs(bid) >= EMPTY_LEVEL)
    report.drop("empty_book_side", int(empty.sum()))
    q = pd.DataFrame(
        {
            "ts": ts.to_numpy()[~empty],
            "symbol": sym,
            "bid": bid[~empty] / PRICE_SCALE,
            "ask": ask[~empty] / PRICE_SCALE,
            "bid_size": book["bid_size"].to_numpy()[~empty],
            "ask_size": book["ask_size"].to_numpy()[~empty],
        }
    )
    q = to_canonical(q, "quotes", origin=origin)
    sub = ImportReport(origin)  # row totals are this function's; take only the counted fixes
    q = clean(q, "quotes", sub, dedupe=False)
    report.dropped.update(sub.dropped)
    report.repaired.update(sub.repaired)
    vals = q[["bid", "ask", "bid_size", "ask_size"]].to_numpy()
    unchanged = np.zeros(len(q), dtype=bool)
    unchanged[1:] = (vals[1:] == vals[:-1]).all(axis=1)
    report.drop("unchanged_quote", int(unchanged.sum()))
    q = q.loc[~unchanged].reset_index(drop=True)
    report.rows_kept = len(q)
    return q


def _count_fields(data: bytes) -> int:
    first = data.split(b"\n", 1)[0].strip()
    return len(first.split(b",")) if first else 0


def _check_message_values(msg: pd.DataFrame, origin: str) -> None:
    """Unknown event types or directions mean the file is not what we think it is: stop."""
    kind = msg["type"].to_numpy()
    bad = ~np.isin(kind, (1, 2, 3, 4, 5, 6, 7))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            "unknown LOBSTER event type",
            path=origin,
            line=i + 1,
            value=kind[i],
            fix="types are 1-7 (see LOBSTER_SampleFiles_ReadMe.txt); check the file",
        )
    direction = msg["direction"].to_numpy()
    bad = ~np.isin(direction, (-1, 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            "direction must be -1 (sell limit order) or 1 (buy limit order)",
            path=origin,
            line=i + 1,
            value=direction[i],
            fix="check the file",
        )


class LobsterConfig(ComponentConfig):
    path: str = Field(
        "../shared/data/lobster",
        description="A LOBSTER message file or a folder holding message/orderbook pairs.",
    )
    symbol: str | None = Field(None, description="Ticker to read; None reads every ticker.")


class LobsterSource(Source[LobsterConfig]):
    """Reads LOBSTER message/orderbook pairs in place: true-side trades and level-1 quotes."""

    name: ClassVar[str] = "lobster"

    def __init__(self, config: LobsterConfig) -> None:
        super().__init__(config)
        self._pairs = find_lobster_pairs(Path(self.config.path), self.config.symbol)

    def event_kinds(self) -> frozenset[EventKind]:
        return frozenset({"trades", "quotes"})

    def symbols(self) -> list[str]:
        return sorted({p.symbol for p in self._pairs})

    def halts(self) -> pd.DataFrame:
        """Trading-halt messages of every day (``ts, symbol, state``)."""
        frames = [
            load_lobster_day(p.message, p.orderbook, p.symbol, p.day).halts for p in self._pairs
        ]
        return pd.concat(frames, ignore_index=True)

    def read(
        self,
        kind: EventKind,
        symbols: Sequence[str],
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        chunk_rows: int = 1_000_000,
    ) -> Iterator[pd.DataFrame]:
        if kind not in ("trades", "quotes"):
            raise DataError(f"the lobster source has no {kind!r} events; it has trades and quotes")
        wanted = {s.upper() for s in symbols} if symbols else None
        days = sorted({p.day for p in self._pairs})

        def frames() -> Iterator[pd.DataFrame]:
            for day in days:
                parts = []
                for p in self._pairs:
                    if p.day == day and (wanted is None or p.symbol in wanted):
                        d = load_lobster_day(p.message, p.orderbook, p.symbol, p.day)
                        parts.append(d.trades if kind == "trades" else d.quotes)
                if not parts:
                    continue
                df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
                if len(parts) > 1:
                    df = df.sort_values("ts", kind="stable", ignore_index=True)
                yield filter_frame(df, None, start, end)

        yielded = False
        for chunk in rechunk(frames(), chunk_rows):
            yielded = True
            yield chunk
        if not yielded:
            yield empty_frame(kind)
