"""The sql source against a real PostgreSQL server started on loopback by the test set-up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from ash.data.sources.lobster import find_lobster_pairs, load_lobster
from ash.data.sources.report import DataError
from ash.data.sources.sql import SQLSource, write_events

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def loaded_url(postgres_url: str, lobster_dir: Path) -> str:
    pair = find_lobster_pairs(lobster_dir)[0]
    trades, quotes = load_lobster(pair.message, pair.orderbook, "AMZN", "2012-06-21")
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS trades, quotes"))
    write_events(engine, "trades", trades)
    write_events(engine, "quotes", quotes.iloc[:5000])
    other = trades.iloc[:100].assign(symbol="XYZ", price=trades["price"].iloc[:100] / 2)
    write_events(engine, "trades", other)
    engine.dispose()
    return postgres_url


def test_reads_back_what_was_written(loaded_url: str, lobster_dir: Path) -> None:
    pair = find_lobster_pairs(lobster_dir)[0]
    trades, _ = load_lobster(pair.message, pair.orderbook, "AMZN", "2012-06-21")
    src = SQLSource(SQLSource.Config(url=loaded_url))
    assert src.symbols() == ["AMZN", "XYZ"]
    assert src.event_kinds() == frozenset({"trades", "quotes"})
    back = pd.concat(src.read("trades", ["AMZN"]), ignore_index=True)
    assert len(back) == len(trades) == 11_419
    assert np.array_equal(back["price"].to_numpy(), trades["price"].to_numpy())
    assert np.array_equal(back["side"].to_numpy(), trades["side"].to_numpy())
    # PostgreSQL keeps microseconds: the documented loss is below 1 us.
    lag = (trades["ts"] - back["ts"]).dt.total_seconds().abs()
    assert lag.max() < 1e-6
    assert str(back["ts"].dt.tz) == "UTC"


def test_chunks_and_pushed_down_filters(loaded_url: str) -> None:
    src = SQLSource(SQLSource.Config(url=loaded_url))
    chunks = list(src.read("trades", ["AMZN", "XYZ"], chunk_rows=4000))
    assert [len(c) for c in chunks] == [4000, 4000, 3519]
    both = pd.concat(chunks, ignore_index=True)
    assert both["ts"].is_monotonic_increasing
    start = pd.Timestamp("2012-06-21 14:00", tz="UTC")
    end = pd.Timestamp("2012-06-21 14:30", tz="UTC")
    window = pd.concat(src.read("trades", ["AMZN"], start, end), ignore_index=True)
    amzn = both[both["symbol"] == "AMZN"]
    expected = amzn[(amzn["ts"] >= start) & (amzn["ts"] < end)]
    assert len(window) == len(expected) > 0
    plan = src.explain("trades", ["AMZN"], start, end)
    assert "ts >= '2012-06-21 14:00:00+00'" in plan  # the server, not Python, filters
    assert "'AMZN'" in plan


def test_missing_table_is_explained(loaded_url: str) -> None:
    src = SQLSource(SQLSource.Config(url=loaded_url, options_table="no_such_table"))
    with pytest.raises(DataError, match="does not exist"):
        next(src.read("options", ["AMZN"]))
