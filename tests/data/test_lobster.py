"""LOBSTER: true-side trades, level-1 quotes with unchanged ones collapsed, halts recorded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ash.data.sources.lobster import (
    LobsterSource,
    find_lobster_pairs,
    load_lobster,
    load_lobster_day,
)
from ash.data.sources.store import DuckDBStore


def write_pair(folder: Path, messages: list[str], book: list[str], name: str = "TEST") -> Path:
    base = f"{name}_2012-06-21_34200000_57600000"
    msg = folder / f"{base}_message_1.csv"
    msg.write_text("\n".join(messages) + "\n")
    (folder / f"{base}_orderbook_1.csv").write_text("\n".join(book) + "\n")
    return msg


def test_real_day_counts_and_sides(lobster_dir: Path) -> None:
    pair = find_lobster_pairs(lobster_dir)[0]
    assert pair.symbol == "AMZN"
    raw = pd.read_csv(pair.message, header=None)
    day = load_lobster_day(pair.message, pair.orderbook, pair.symbol, pair.day)
    executions = raw[raw[1].isin([4, 5])]
    assert len(day.trades) == len(executions) == 11_419
    # Execution of a sell limit order (direction -1) is a buyer-initiated trade.
    assert np.array_equal(day.trades["side"].to_numpy(), -executions[5].to_numpy())
    assert day.trades["size"].sum() == executions[3].sum()
    assert day.trades["ts"].iloc[0] == pd.Timestamp("2012-06-21 13:30:00.017459617", tz="UTC")
    # Quotes: one per message minus the counted unchanged repeats.
    unchanged = day.quotes_report.dropped["unchanged_quote"]
    assert len(day.quotes) == len(raw) - unchanged
    assert day.quotes_report.rows_read == len(raw) == 57_515
    q = day.quotes[["bid", "ask", "bid_size", "ask_size"]].to_numpy()
    assert not (q[1:] == q[:-1]).all(axis=1).any()
    assert (day.quotes["bid"] < day.quotes["ask"]).all()
    assert day.halts.empty


def test_load_lobster_returns_trades_and_quotes(lobster_dir: Path) -> None:
    pair = find_lobster_pairs(lobster_dir)[0]
    trades, quotes = load_lobster(pair.message, pair.orderbook, "AMZN", "2012-06-21")
    assert len(trades) == 11_419
    assert "halts" in trades.attrs
    assert quotes["ts"].is_monotonic_increasing


HALT_MESSAGES = [
    "34200.1,1,1,100,1000000,1",
    "34200.2,4,1,50,1000000,1",
    "34300.0,7,0,0,-1,-1",
    "34400.0,7,0,0,0,-1",
    "34500.0,7,0,0,1,-1",
    "34600.0,5,0,10,1010000,-1",
]
HALT_BOOK = [
    "1010000,100,1000000,100",
    "1010000,100,1000000,50",
    "1010000,100,1000000,50",
    "1010000,100,1000000,50",
    "1010000,100,1000000,50",
    "1010000,100,1000000,50",
]


def test_halts_are_returned_and_stored(tmp_path: Path) -> None:
    msg = write_pair(tmp_path, HALT_MESSAGES, HALT_BOOK)
    day = load_lobster_day(msg, str(msg).replace("message", "orderbook"), "TEST", "2012-06-21")
    assert list(day.halts["state"]) == ["halt", "quoting", "resume"]
    assert day.halts["ts"].iloc[0] == pd.Timestamp("2012-06-21 13:31:40", tz="UTC")
    assert list(day.trades["side"]) == [-1, 1]  # buy limit hit = sell; hidden sell hit = buy
    assert len(day.quotes) == 2  # the four repeated book states collapse
    assert day.quotes_report.dropped["unchanged_quote"] == 4

    from ash.data.sources.importer import import_path

    db = tmp_path / "s.duckdb"
    import_path(db, "lobster", msg, progress=False)
    with DuckDBStore(db) as store:
        halts = store.halts()
    assert list(halts["state"]) == ["halt", "quoting", "resume"]


def test_empty_book_side_is_dropped_and_counted(tmp_path: Path) -> None:
    msg = write_pair(
        tmp_path,
        ["34200.1,1,1,100,1000000,1", "34200.2,3,1,100,1000000,1"],
        ["1010000,100,1000000,100", "1010000,100,-9999999999,0"],
    )
    day = load_lobster_day(msg, str(msg).replace("message", "orderbook"), "TEST", "2012-06-21")
    assert len(day.quotes) == 1
    assert day.quotes_report.dropped["empty_book_side"] == 1


def test_source_filters_and_chunks(lobster_dir: Path) -> None:
    src = LobsterSource(LobsterSource.Config(path=str(lobster_dir)))
    assert src.symbols() == ["AMZN"]
    chunks = list(src.read("trades", ["AMZN"], chunk_rows=3000))
    assert [len(c) for c in chunks] == [3000, 3000, 3000, 2419]
    start = pd.Timestamp("2012-06-21 15:00", tz="UTC")
    part = pd.concat(src.read("quotes", [], start=start))
    assert (part["ts"] >= start).all() and len(part) > 0
    with pytest.raises(ValueError, match="no 'options' events"):
        next(src.read("options", ["AMZN"]))
