"""Bars from the project's real-data sources (lean, lobster readers) on ../shared/data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ash.bars.builder import build_bars
from ash.bars.spec import BarSpec
from ash.testing import lean_sample as lean_sample

try:
    SPY = lean_sample.data_dir()
except FileNotFoundError:
    SPY = None
LOBSTER = SPY.parent / "lobster" if SPY is not None else None
pytestmark = pytest.mark.skipif(SPY is None, reason="../shared/data not present")


def test_lobster_day_builds_with_true_sides_and_conserves_volume() -> None:
    from ash.data.sources.lobster import load_lobster

    assert LOBSTER is not None
    stem = "AMZN_2012-06-21_34200000_57600000"
    trades, quotes = load_lobster(
        LOBSTER / f"{stem}_message_1.csv", LOBSTER / f"{stem}_orderbook_1.csv", "AMZN", "2012-06-21"
    )
    bars = build_bars(trades, quotes, spec=BarSpec(session="09:30-16:00"))
    assert bars.symbol == "AMZN" and bars.has_quotes
    assert bars.stats.rejected_total == 0
    assert bars.column("trade_count").sum() == len(trades)
    assert bars.column("volume").sum() == trades["size"].sum()
    # every LOBSTER execution carries its true side: no inference, no half/half split
    buys = trades.loc[trades["side"] == 1, "size"].sum()
    assert bars.column("buy_volume").sum() == buys
    assert len(bars) == 23_400 and bars.segment_starts.tolist() == [0]  # 09:30-16:00, no gap
    assert (bars.column("spread") >= 0).all() and np.isfinite(bars.values).all()


def test_lean_source_and_private_sample_reader_build_the_same_bars() -> None:
    from ash.data.sources.lean import load_lean_quotes, load_lean_trades

    assert SPY is not None
    day = "20131007"
    trades = load_lean_trades(SPY / f"spy_{day}_trade.zip", "SPY", day)
    quotes = load_lean_quotes(SPY / f"spy_{day}_quote_second.zip", "SPY", day)
    official = build_bars(trades, quotes)
    t, q = lean_sample.as_canonical(lean_sample.trade_ticks(day), lean_sample.quote_events(day))
    private = build_bars(t, q)
    np.testing.assert_array_equal(official.ts_ns, private.ts_ns)
    np.testing.assert_allclose(official.values, private.values, rtol=1e-12)
    assert official.stats.rejected == private.stats.rejected


def test_three_spy_days_make_one_segment_per_session() -> None:
    assert SPY is not None
    frames = [lean_sample.trade_ticks(d) for d in lean_sample.SPY_DAYS]
    t, _ = lean_sample.as_canonical(pd.concat(frames, ignore_index=True), None)
    bars = build_bars(t, spec=BarSpec(session="09:30-16:00"))
    assert bars.segment_starts.tolist() == [0, 23_400, 46_800]
    assert bars.column("trade_count").sum() == bars.stats.accepted_trades
