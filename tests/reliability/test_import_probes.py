"""Import refuses what it cannot store correctly (issue 15): infinite prices, times outside the
file's day and zip bombs are dropped-and-counted or refused, and the counts reach the data
quality report. Real import path, real DuckDB store."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from ash.data import quality
from ash.data.sources.importer import import_path
from ash.data.sources.report import DataError
from ash.data.sources.store import DuckDBStore
from ash.data.sources.vendor_files import ArchiveLimits, read_member_bytes

GOOD = "34200000,1674100,100,P,20002000,0"


def lean_zip(folder: Path, lines: list[str], what: str = "trade") -> Path:
    path = folder / f"spy_20131007_{what}.zip"
    member = "20131007_spy_Trade_Tick.csv" if what == "trade" else "20131007_spy_quote.csv"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, "\n".join(lines) + "\n")
    return path


def quote_row(ms: int, ask: str) -> str:
    return f"{ms},1674000,1674000,1674000,1674000,100,1674100,1674100,1674100,{ask},200"


def test_infinite_prices_are_dropped_counted_and_reported(tmp_path: Path) -> None:
    trades = lean_zip(tmp_path, [GOOD, "34200001,inf,100,P,20002000,0"])
    quotes_dir = tmp_path / "q"
    quotes_dir.mkdir()
    lean_zip(
        quotes_dir, [quote_row(34200000, "1674100"), quote_row(34201000, "inf")], "quote_second"
    )
    db = tmp_path / "s.duckdb"
    imported = import_path(db, "lean", trades, progress=False)
    imported += import_path(db, "lean", quotes_dir, progress=False)
    assert [r.rows for r in imported] == [1, 1]
    assert imported[0].report is not None and imported[0].report.dropped == {"infinite_price": 1}
    assert imported[1].report is not None and imported[1].report.dropped == {"infinite_ask": 1}
    with DuckDBStore(db, read_only=True) as store:
        refusals = quality.import_refusals(store.imports())
        prices = store.read_all("trades", ["SPY"])["price"]
    assert {(r["table"], r["reason"], r["rows"]) for r in refusals} == {
        ("trades", "infinite_price", 1),
        ("quotes", "infinite_ask", 1),
    }
    assert bool((prices < float("inf")).all())


def test_times_outside_the_files_day_are_dropped_and_counted(tmp_path: Path) -> None:
    lines = [GOOD, "999999999,1674200,100,P,20002000,0", "-5000,1674300,100,P,20002000,0"]
    db = tmp_path / "s.duckdb"
    (result,) = import_path(db, "lean", lean_zip(tmp_path, lines), progress=False)
    assert result.rows == 1
    assert result.report is not None
    assert result.report.dropped == {"time_outside_file_day": 2}
    assert result.report.rows_read == 3
    with DuckDBStore(db, read_only=True) as store:
        ts = store.read_all("trades", ["SPY"])["ts"]
    local = pd.DatetimeIndex(ts).tz_convert("America/New_York")
    assert {str(d) for d in local.date} == {"2013-10-07"}


def test_a_zip_bomb_is_refused_before_it_inflates(tmp_path: Path) -> None:
    path = tmp_path / "spy_20131007_trade.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("t.csv", "w") as f:
        for _ in range(100):  # 100 MB of one byte: ~100 KB compressed
            f.write(b"0" * (1 << 20))
    limits = ArchiveLimits()
    assert limits.allowed(path.stat().st_size) < 100 << 20
    with pytest.raises(DataError, match=r"decompresses to more than .* zip bomb") as err:
        read_member_bytes(path, limits=limits)
    assert err.value.path is not None and str(path) in err.value.path
    with pytest.raises(DataError, match="zip bomb"):
        import_path(tmp_path / "s.duckdb", "lean", path, progress=False)


def test_archive_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASH_MAX_DECOMPRESSED_MB", "1")
    assert ArchiveLimits.from_env().allowed(10**9) == 1 << 20
    monkeypatch.setenv("ASH_MAX_COMPRESSION_RATIO", "zero")
    with pytest.raises(DataError, match="ASH_MAX_COMPRESSION_RATIO"):
        ArchiveLimits.from_env()
