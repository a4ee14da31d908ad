"""Profiling the real store: files exist, figures agree with the raw counts, plots are PNGs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ash.data import quality
from ash.data.profile import ProfileResult, profile_store


@pytest.fixture(scope="module")
def profiled(real_store: Path, tmp_path_factory: pytest.TempPathFactory) -> ProfileResult:
    return profile_store(real_store, tmp_path_factory.mktemp("profile"), gap_seconds=30)


def test_files_are_written(profiled: ProfileResult) -> None:
    assert profiled.dictionary.exists() and profiled.report.exists()
    assert len(profiled.plots) == 8  # 4 per symbol
    for p in profiled.plots:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({p.name})" in profiled.report.read_text()
    data = json.loads(profiled.figures_json.read_text())
    assert set(data["symbols"]) == {"AMZN", "SPY"}


def test_dictionary_lists_tables_columns_and_units(profiled: ProfileResult) -> None:
    text = profiled.dictionary.read_text()
    for needle in ("## `trades` (table, 1,153,242 rows)", "| `price` | DOUBLE |", "TIMESTAMP_NS"):
        assert needle in text
    assert "## `quotes`" in text and "## `ash_imports`" in text


def test_key_figures_agree_with_raw_counts(profiled: ProfileResult) -> None:
    spy = profiled.figures["symbols"]["SPY"]
    amzn = profiled.figures["symbols"]["AMZN"]
    assert spy["trades"]["count"] == 250_601 + 451_545 + 439_677
    assert [s["events"] for s in spy["trades"]["sessions"]] == [250_601, 451_545, 439_677]
    assert amzn["trades"]["count"] == 11_419
    assert amzn["quotes"]["count"] == 57_515 - 2_444
    assert spy["trades"]["resolution"] == "1 ms"
    assert amzn["trades"]["resolution"] == "1 ns"
    assert amzn["trades"]["side"] == {"-1": 5_515, "1": 5_904}
    assert amzn["quotes"]["crossed"] == 0
    # SPY's extended-hours sessions: 04:00 to 20:00 New York.
    assert spy["trades"]["sessions"][0]["first"].startswith("04:00")
    assert 0.9 < spy["alignment"]["within_fraction"] <= 1.0
    report = profiled.report.read_text()
    assert "| SPY | 1,141,823 |" in report
    assert "Tick count: 11,419" in report


def test_gaps_are_found_inside_the_regular_session() -> None:
    ts = pd.Series(
        pd.to_datetime(
            [
                "2024-01-02 14:30:05",
                "2024-01-02 14:30:10",
                "2024-01-02 14:32:10",
                "2024-01-02 20:59:59",
            ],
            utc=True,
        )
    )
    gaps = quality.session_gaps(ts, 60)
    # 14:30:10 -> 14:32:10 (120 s) and 14:32:10 -> 20:59:59, the close is at 21:00 UTC.
    assert list(gaps["seconds"].round(0)) == [120.0, 23269.0]


def test_alignment_measures_lag_to_prior_quote() -> None:
    t0 = pd.Timestamp("2024-01-02 14:30", tz="UTC")
    quotes = pd.DataFrame(
        {"ts": [t0, t0 + pd.Timedelta(seconds=10)], "bid": [99.0, 99.0], "ask": [101.0, 101.0]}
    )
    trades = pd.DataFrame(
        {
            "ts": [t0 + pd.Timedelta(seconds=0.5), t0 + pd.Timedelta(seconds=5)],
            "price": [100.0, 102.0],
        }
    )
    a = quality.alignment(trades, quotes, within_s=1.0)
    assert a["lag_p50_s"] == pytest.approx(2.75)
    assert a["within_fraction"] == 0.5
    assert a["outside_quote_fraction"] == 0.5


def test_price_jumps_flag_a_huge_print() -> None:
    n = 200
    prices = 100 + 0.01 * (pd.Series(range(n)) % 3)
    prices.iloc[100] = 110.0
    trades = pd.DataFrame(
        {
            "ts": pd.date_range("2024-01-02 14:30", periods=n, freq="s", tz="UTC"),
            "price": prices,
        }
    )
    jumps = quality.price_jumps(trades, k_sigma=10)
    assert jumps.count == 2  # up to 110 and back
    assert 110.0 in (jumps.largest["price"].iloc[0], jumps.largest["previous"].iloc[0])
