"""Private reader of the Lean SPY sample zips for bar vectors, benchmarks and spot checks.

The official reader is the ``lean`` source (ash.data.sources.lean); this module exists so the bar
builder's tests and benchmark do not depend on it. Formats: ../shared/data/README.md.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from ash.bars.events import F64, I64
from ash.paths import repo_root

SPY_DAYS: Final[tuple[str, ...]] = ("20131007", "20131008", "20131009")
_TZ: Final[str] = "America/New_York"


def data_dir() -> Path:
    """The SPY sample folder: $ASH_SHARED_DATA/spy-2013-10, else ../shared/data beside the
    checkout (or the working directory)."""
    root = os.environ.get("ASH_SHARED_DATA")
    candidates = [Path(root)] if root else []
    checkout = repo_root()
    candidates += [checkout.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for base in candidates:
        if (base / "spy-2013-10").is_dir():
            return base / "spy-2013-10"
    raise FileNotFoundError(
        "SPY sample data not found; set ASH_SHARED_DATA to the folder holding spy-2013-10/"
    )


def _read_csv(path: Path, names: list[str]) -> pd.DataFrame:
    with zipfile.ZipFile(path) as archive:
        (member,) = archive.namelist()
        with archive.open(member) as handle:
            return pd.read_csv(handle, header=None, names=names)


def _midnight_ns(day: str) -> int:
    return int(pd.Timestamp(day).tz_localize(_TZ).tz_convert("UTC").value)


def trade_ticks(day: str) -> pd.DataFrame:
    """Every trade print: ts_ns (UTC int64), price, size, exchange, condition, suspicious."""
    frame = _read_csv(
        data_dir() / f"spy_{day}_trade.zip",
        ["ms", "price", "size", "exchange", "condition", "suspicious"],
    )
    frame["ts_ns"] = _midnight_ns(day) + frame["ms"].to_numpy(np.int64) * 1_000_000
    frame["price"] = frame["price"] / 10_000.0
    frame["size"] = frame["size"].astype(np.float64)
    return frame


def trade_arrays(day: str) -> tuple[I64, F64, F64]:
    """(ts_ns, price, size) of every trade print of the day."""
    frame = trade_ticks(day)
    return (
        frame["ts_ns"].to_numpy(np.int64),
        frame["price"].to_numpy(np.float64),
        frame["size"].to_numpy(np.float64),
    )


def quote_events(day: str) -> pd.DataFrame:
    """Quote events from Lean's 1 s quote bars: the bar's closing bid/ask, stamped 1 ns before
    the bar ends (the state in force at the end of that second)."""
    frame = _read_csv(
        data_dir() / f"spy_{day}_quote_second.zip",
        [
            "ms",
            "bid_o",
            "bid_h",
            "bid_l",
            "bid",
            "bid_size",
            "ask_o",
            "ask_h",
            "ask_l",
            "ask",
            "ask_size",
        ],
    )
    out = pd.DataFrame(
        {
            "ts_ns": _midnight_ns(day) + (frame["ms"].to_numpy(np.int64) + 1000) * 1_000_000 - 1,
            "bid": frame["bid"] / 10_000.0,
            "ask": frame["ask"] / 10_000.0,
            "bid_size": frame["bid_size"].astype(np.float64),
            "ask_size": frame["ask_size"].astype(np.float64),
        }
    )
    return out


def second_bars(day: str) -> pd.DataFrame:
    """Lean's own 1 s trade bars: ts_ns (bar start, UTC), open, high, low, close, volume."""
    frame = _read_csv(
        data_dir() / f"spy_{day}_trade_second.zip", ["ms", "open", "high", "low", "close", "volume"]
    )
    frame["ts_ns"] = _midnight_ns(day) + frame["ms"].to_numpy(np.int64) * 1_000_000
    for c in ("open", "high", "low", "close"):
        frame[c] = frame[c] / 10_000.0
    frame["volume"] = frame["volume"].astype(np.float64)
    return frame


def as_canonical(
    trades: pd.DataFrame | None, quotes: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Canonical-schema frames (ts tz-aware UTC) for :func:`ash.bars.builder.build_bars`."""

    def ts(values: pd.Series) -> pd.Series:
        return pd.Series(pd.to_datetime(values.to_numpy(np.int64), unit="ns", utc=True))

    t = q = None
    if trades is not None:
        t = pd.DataFrame(
            {
                "ts": ts(trades["ts_ns"]),
                "price": trades["price"].to_numpy(),
                "size": trades["size"].to_numpy(),
                "side": np.zeros(len(trades), dtype=np.int8),
            }
        )
    if quotes is not None:
        q = pd.DataFrame({"ts": ts(quotes["ts_ns"])})
        for c in ("bid", "ask", "bid_size", "ask_size"):
            q[c] = quotes[c].to_numpy()
    return t, q
