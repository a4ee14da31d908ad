"""QuantConnect Lean / AlgoSeek equity files: tick trades and 1-second quote bars.

Formats (no header; prices are dollars x 10000; times are milliseconds after midnight on the
exchange's New York wall clock of the file's day):

Times outside the file's own day (``ms`` not in ``[0, 86 400 000)``: another date, or the day
before) are dropped and counted as ``time_outside_file_day``.

- ``*_trade.zip`` (tick trades): ``ms, price, size, exchange, sale_condition, suspicious_flag``.
  Prints with ``suspicious_flag != 0`` are excluded and counted (``suspicious_flag`` in the
  report). There is no aggressor side: ``side`` is 0 and the bar builder infers it.
- ``*_quote_second.zip`` (1-second quote bars): ``ms, bid_open, bid_high, bid_low, bid_close,
  bid_size, ask_open, ask_high, ask_low, ask_close, ask_size``. ``ms`` is the bar's *start*. We
  emit one quote per bar from the close fields, stamped at the **last nanosecond of the second**
  (start + 1 s - 1 ns): that is the instant at which the close state is certainly in force, so a
  bar ``[t, t+1s)`` sees the close of quote bar ``t`` as its last quote and nothing earlier sees it.
- ``*_trade_second.zip`` (1-second trade bars) are not events; :func:`load_lean_trade_seconds`
  reads them for spot-checks of the bar builder.

File names: ``<symbol>_<yyyymmdd>_<trade|quote_second|trade_second>.zip`` (as in ../shared/data)
or Lean's own layout ``.../<symbol>/<yyyymmdd>_<...>.zip`` (symbol from the folder).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

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

PRICE_SCALE = 10_000.0

TRADE_COLUMNS = (
    ("ms", "num"),
    ("price", "num"),
    ("size", "num"),
    ("exchange", "str"),
    ("sale_condition", "str"),
    ("suspicious", "num"),
)
QUOTE_BAR_COLUMNS = (
    ("ms", "num"),
    ("bid_open", "num"),
    ("bid_high", "num"),
    ("bid_low", "num"),
    ("bid_close", "num"),
    ("bid_size", "num"),
    ("ask_open", "num"),
    ("ask_high", "num"),
    ("ask_low", "num"),
    ("ask_close", "num"),
    ("ask_size", "num"),
)
TRADE_BAR_COLUMNS = (
    ("ms", "num"),
    ("open", "num"),
    ("high", "num"),
    ("low", "num"),
    ("close", "num"),
    ("volume", "num"),
)

LeanKind = Literal["trade", "quote_second", "trade_second", "quote"]
_NAME = re.compile(
    r"^(?:(?P<symbol>[A-Za-z0-9.\-]+)_)?(?P<day>\d{8})_(?P<what>trade_second|quote_second|trade|quote)"
    r"\.(?:zip|csv)$"
)


@dataclass(frozen=True)
class LeanFile:
    """One Lean data file, with the symbol and day read from its name."""

    path: Path
    symbol: str
    day: pd.Timestamp
    what: LeanKind


def parse_lean_name(path: Path, symbol: str | None = None) -> LeanFile | None:
    """Recognize a Lean file name; ``None`` if the name is not a Lean data file."""
    m = _NAME.match(path.name)
    if m is None:
        return None
    sym = symbol or m.group("symbol") or path.parent.name
    what: LeanKind = m.group("what")  # type: ignore[assignment]
    return LeanFile(path=path, symbol=sym.upper(), day=parse_day(m.group("day")), what=what)


def find_lean_files(
    path: Path, symbol: str | None = None, days: Sequence[str] | None = None
) -> list[LeanFile]:
    """Lean files at ``path`` (a file or a folder searched recursively), sorted by day."""
    candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    wanted = {parse_day(d) for d in days} if days else None
    found: list[LeanFile] = []
    for p in candidates:
        f = parse_lean_name(p, symbol)
        if f is None:
            if path.is_file():
                raise DataError(
                    "not a Lean file name",
                    path=p,
                    fix="name it <symbol>_<yyyymmdd>_trade.zip or "
                    "<symbol>_<yyyymmdd>_quote_second.zip",
                )
            continue
        if symbol and f.symbol != symbol.upper():
            continue
        if wanted is not None and f.day not in wanted:
            continue
        found.append(f)
    if not found:
        raise DataError(
            "no Lean data files found", path=path, fix="check the path, --symbol and days"
        )
    return sorted(found, key=lambda f: (f.day, f.symbol, f.what))


def _times(day: pd.Timestamp | str, ms: np.ndarray) -> pd.Series:  # type: ignore[type-arg]
    return local_time_of_day_to_utc(parse_day(day), np.round(ms * 1e6).astype("int64"))


def _in_day(raw: pd.DataFrame, rep: ImportReport, offset_ns: int = 0) -> pd.DataFrame:
    """The rows whose time (``ms`` after midnight, plus ``offset_ns``) lies in the file's day;
    the others are counted (as read and dropped)."""
    keep = keep_within_day(raw["ms"].to_numpy(dtype="float64") * 1e6 + offset_ns, rep)
    rep.rows_read += int((~keep).sum())
    return raw if keep.all() else raw.loc[keep].reset_index(drop=True)


def load_lean_trades(
    zip_path: str | Path, symbol: str, day: str | pd.Timestamp, report: ImportReport | None = None
) -> pd.DataFrame:
    """Canonical trades of one Lean tick trade file (suspicious prints excluded and counted)."""
    data, origin = read_member_bytes(Path(zip_path))
    raw = read_numeric_csv(data, origin, TRADE_COLUMNS)
    rep = report if report is not None else ImportReport(origin)
    raw = _in_day(raw, rep)
    suspicious = raw["suspicious"].to_numpy() != 0
    rep.drop("suspicious_flag", int(suspicious.sum()))
    rep.rows_read += int(suspicious.sum())
    raw = raw.loc[~suspicious]
    df = pd.DataFrame(
        {
            "ts": _times(day, raw["ms"].to_numpy()),
            "symbol": symbol.upper(),
            "price": raw["price"].to_numpy() / PRICE_SCALE,
            "size": raw["size"].to_numpy(),
            "side": np.zeros(len(raw), dtype="int8"),
        }
    )
    return clean(to_canonical(df, "trades", origin=origin), "trades", rep)


def load_lean_quotes(
    zip_path: str | Path, symbol: str, day: str | pd.Timestamp, report: ImportReport | None = None
) -> pd.DataFrame:
    """Canonical quotes from one Lean 1-second quote bar file (close state, end of each second)."""
    data, origin = read_member_bytes(Path(zip_path))
    raw = read_numeric_csv(data, origin, QUOTE_BAR_COLUMNS)
    rep = report if report is not None else ImportReport(origin)
    raw = _in_day(raw, rep, offset_ns=999_999_999)
    end_of_second_ns = np.round(raw["ms"].to_numpy() * 1e6).astype("int64") + 999_999_999
    df = pd.DataFrame(
        {
            "ts": local_time_of_day_to_utc(parse_day(day), end_of_second_ns),
            "symbol": symbol.upper(),
            "bid": raw["bid_close"].to_numpy() / PRICE_SCALE,
            "ask": raw["ask_close"].to_numpy() / PRICE_SCALE,
            "bid_size": raw["bid_size"].to_numpy(),
            "ask_size": raw["ask_size"].to_numpy(),
        }
    )
    df = clean(to_canonical(df, "quotes", origin=origin), "quotes", rep)
    _reject_conflicting_seconds(df, origin)
    return df


def _reject_conflicting_seconds(df: pd.DataFrame, origin: str) -> None:
    """Two different quote bars for the same second cannot both be right: stop and say where."""
    dup = df["ts"].duplicated(keep=False).to_numpy()
    if dup.any():
        first = df.loc[dup].iloc[0]
        raise DataError(
            f"two different quote bars for the same second {first['ts']}",
            path=origin,
            fix="the file mixes two sources or is corrupt; keep one bar per second",
        )


def load_lean_trade_seconds(zip_path: str | Path, day: str | pd.Timestamp) -> pd.DataFrame:
    """Lean's own 1-second trade bars (``ts`` = bar start, UTC): for checking the bar builder."""
    data, origin = read_member_bytes(Path(zip_path))
    raw = read_numeric_csv(data, origin, TRADE_BAR_COLUMNS)
    out = pd.DataFrame({"ts": _times(day, raw["ms"].to_numpy())})
    for col in ("open", "high", "low", "close"):
        out[col] = raw[col].to_numpy() / PRICE_SCALE
    out["volume"] = raw["volume"].to_numpy()
    return out


class LeanConfig(ComponentConfig):
    path: str = Field(
        "../shared/data/spy-2013-10",
        description="A Lean data folder (searched recursively) or a single .zip file.",
    )
    symbol: str | None = Field(
        None, description="Symbol to read; None reads every symbol found in the file names."
    )
    days: list[str] | None = Field(
        None, description="Days to read (YYYYMMDD or YYYY-MM-DD); None reads every day found."
    )


class LeanSource(Source[LeanConfig]):
    """Reads Lean/AlgoSeek tick trades and 1-second quote bars straight from their zip files."""

    name: ClassVar[str] = "lean"

    def __init__(self, config: LeanConfig) -> None:
        super().__init__(config)
        cfg = self.config
        self._files = find_lean_files(Path(cfg.path), cfg.symbol, cfg.days)

    def event_kinds(self) -> frozenset[EventKind]:
        kinds: set[EventKind] = set()
        for f in self._files:
            if f.what == "trade":
                kinds.add("trades")
            elif f.what == "quote_second":
                kinds.add("quotes")
        return frozenset(kinds)

    def symbols(self) -> list[str]:
        return sorted({f.symbol for f in self._files})

    def read(
        self,
        kind: EventKind,
        symbols: Sequence[str],
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        chunk_rows: int = 1_000_000,
    ) -> Iterator[pd.DataFrame]:
        what = {"trades": "trade", "quotes": "quote_second"}.get(kind)
        if what is None:
            raise DataError(f"the lean source has no {kind!r} events; it has trades and quotes")
        loader = load_lean_trades if kind == "trades" else load_lean_quotes
        wanted = {s.upper() for s in symbols} if symbols else None
        by_day: dict[pd.Timestamp, list[LeanFile]] = {}
        for f in self._files:
            if f.what == what and (wanted is None or f.symbol in wanted):
                by_day.setdefault(f.day, []).append(f)

        def frames() -> Iterator[pd.DataFrame]:
            # One day in memory at a time; several symbols of one day are merged in time order.
            for day in sorted(by_day):
                if not _day_overlaps(day, start, end):
                    continue
                parts = [loader(f.path, f.symbol, f.day) for f in by_day[day]]
                df = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
                if len(parts) > 1:
                    df = df.sort_values("ts", kind="stable", ignore_index=True)
                yield filter_frame(df, None, start, end)

        yielded = False
        for chunk in rechunk(frames(), chunk_rows):
            yielded = True
            yield chunk
        if not yielded:
            yield empty_frame(kind)


def _day_overlaps(day: pd.Timestamp, start: pd.Timestamp | None, end: pd.Timestamp | None) -> bool:
    # A local day spans at most [day 00:00 UTC-? , day+1 00:00 + 5 h] in UTC; pad generously.
    lo = day.tz_localize("UTC") - pd.Timedelta(hours=12)
    hi = day.tz_localize("UTC") + pd.Timedelta(hours=36)
    return not (
        (end is not None and pd.Timestamp(end) <= lo)
        or (start is not None and pd.Timestamp(start) >= hi)
    )
