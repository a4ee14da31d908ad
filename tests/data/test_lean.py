"""Lean/AlgoSeek files: real SPY days load with the right counts, times, prices and stamps."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ash.data.schema import QUOTES, TRADES
from ash.data.sources.lean import (
    LeanSource,
    find_lean_files,
    load_lean_quotes,
    load_lean_trade_seconds,
    load_lean_trades,
)
from ash.data.sources.report import ImportReport
from ash.data.sources.vendor_files import local_time_of_day_to_utc

DAYS = ("20131007", "20131008", "20131009")


def raw_rows(zip_path: Path) -> list[list[str]]:
    with zipfile.ZipFile(zip_path) as zf:
        text = zf.read(zf.namelist()[0]).decode()
    return [line.split(",") for line in text.splitlines() if line]


@pytest.mark.parametrize("day", DAYS)
def test_trades_match_raw_file(spy_dir: Path, day: str) -> None:
    path = spy_dir / f"spy_{day}_trade.zip"
    raw = raw_rows(path)
    report = ImportReport(str(path))
    df = load_lean_trades(path, "spy", day, report)
    suspicious = sum(1 for r in raw if r[5] != "0")
    assert len(df) == len(raw) - suspicious
    assert report.rows_read == len(raw)
    assert report.dropped.get("suspicious_flag", 0) == suspicious
    assert {c: str(t) for c, t in df.dtypes.items()} == {
        c: ("string" if t == "string" else t) for c, t in TRADES.items()
    }
    # First print: ms after midnight New York (EDT = UTC-4), price / 10000.
    first = raw[0]
    expected_ts = pd.Timestamp(day).tz_localize("America/New_York") + pd.Timedelta(
        milliseconds=int(first[0])
    )
    assert df["ts"].iloc[0] == expected_ts.tz_convert("UTC")
    assert df["price"].iloc[0] == pytest.approx(int(first[1]) / 10000)
    assert df["size"].sum() == sum(float(r[2]) for r in raw if r[5] == "0")
    assert (df["side"] == 0).all()
    assert df["ts"].is_monotonic_increasing
    assert (df["symbol"] == "SPY").all()


def test_quotes_are_bar_closes_stamped_at_end_of_second(spy_dir: Path) -> None:
    path = spy_dir / "spy_20131007_quote_second.zip"
    raw = raw_rows(path)
    df = load_lean_quotes(path, "SPY", "2013-10-07")
    assert len(df) == len(raw)
    assert list(df.columns) == list(QUOTES)
    r0 = raw[0]
    start = pd.Timestamp("2013-10-07 04:00", tz="America/New_York") + pd.Timedelta(
        milliseconds=int(r0[0]) - 14_400_000
    )
    assert df["ts"].iloc[0] == (start + pd.Timedelta(seconds=1) - pd.Timedelta(1, "ns"))
    assert df["bid"].iloc[0] == pytest.approx(int(r0[4]) / 10000)  # bid_close
    assert df["ask"].iloc[0] == pytest.approx(int(r0[9]) / 10000)  # ask_close
    assert df["bid_size"].iloc[0] == float(r0[5])
    assert df["ask_size"].iloc[0] == float(r0[10])


def test_trade_seconds_agree_with_ticks(spy_dir: Path) -> None:
    """Lean's own 1 s bars and our tick trades describe the same day (volume, first open).

    Lean's bars leave out some prints (the opening cross among them: 589,671 shares traded at
    09:30:00 but the bar holds 99,717), so they hold a little less volume than the ticks.
    """
    bars = load_lean_trade_seconds(spy_dir / "spy_20131007_trade_second.zip", "20131007")
    ticks = load_lean_trades(spy_dir / "spy_20131007_trade.zip", "SPY", "20131007")
    ratio = bars["volume"].sum() / ticks["size"].sum()
    assert 0.9 < ratio < 1.0
    assert bars["open"].iloc[0] == ticks["price"].iloc[0]
    assert bars["ts"].iloc[0] == ticks["ts"].iloc[0].floor("s")


def test_source_reads_in_time_order_in_chunks(spy_dir: Path) -> None:
    src = LeanSource(LeanSource.Config(path=str(spy_dir), days=["20131007", "2013-10-08"]))
    assert src.symbols() == ["SPY"]
    assert src.event_kinds() == frozenset({"trades", "quotes"})
    chunks = list(src.read("trades", ["SPY"], chunk_rows=100_000))
    assert all(len(c) == 100_000 for c in chunks[:-1])
    total = pd.concat(chunks, ignore_index=True)
    assert len(total) == 250_601 + 451_545
    assert total["ts"].is_monotonic_increasing
    start = pd.Timestamp("2013-10-08 13:30", tz="UTC")
    end = pd.Timestamp("2013-10-08 13:31", tz="UTC")
    window = pd.concat(src.read("trades", ["SPY"], start, end))
    expected = total[(total["ts"] >= start) & (total["ts"] < end)]
    assert len(window) == len(expected) > 0
    assert np.array_equal(window["price"].to_numpy(), expected["price"].to_numpy())


def test_unknown_symbol_yields_one_empty_canonical_frame(spy_dir: Path) -> None:
    src = LeanSource(LeanSource.Config(path=str(spy_dir)))
    chunks = list(src.read("quotes", ["QQQ"]))
    assert len(chunks) == 1
    assert chunks[0].empty
    assert list(chunks[0].columns) == list(QUOTES)


def test_file_discovery_filters_by_symbol_and_day(spy_dir: Path) -> None:
    files = find_lean_files(spy_dir, "spy", ["20131008"])
    assert {f.what for f in files} == {"trade", "quote_second", "trade_second"}
    assert {f.day for f in files} == {pd.Timestamp("2013-10-08")}


@pytest.mark.parametrize(
    ("day", "hhmm", "utc"),
    [
        ("2013-10-07", (9, 30), "2013-10-07 13:30"),  # EDT, UTC-4
        ("2013-12-02", (9, 30), "2013-12-02 14:30"),  # EST, UTC-5
        ("2013-11-03", (9, 30), "2013-11-03 14:30"),  # fall-back day: after the switch
        ("2013-11-03", (0, 30), "2013-11-03 04:30"),  # fall-back day: before the switch
        ("2013-03-10", (12, 0), "2013-03-10 16:00"),  # spring-forward day
    ],
)
def test_wall_clock_times_convert_across_daylight_saving(
    day: str, hhmm: tuple[int, int], utc: str
) -> None:
    ns = np.array([(hhmm[0] * 3600 + hhmm[1] * 60) * 1_000_000_000])
    got = local_time_of_day_to_utc(pd.Timestamp(day), ns).iloc[0]
    assert got == pd.Timestamp(utc, tz="UTC")
