"""Bad input: every case is a precise error (file, line, value, what to do) or a counted repair."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from ash.data.sources.importer import import_path, read_canonical_csv
from ash.data.sources.lean import load_lean_quotes, load_lean_trades
from ash.data.sources.lobster import load_lobster_day
from ash.data.sources.report import DataError, ImportReport
from ash.data.sources.store import DuckDBStore

GOOD_TRADES = [
    "34200000,1674100,100,P,20002000,0",
    "34200001,1674200,200,Q,20002000,0",
    "34200002,1674300,300,Z,20002000,0",
    "34200003,1674400,400,P,20002000,0",
]


def lean_zip(folder: Path, lines: list[str], name: str = "spy_20131007_trade.zip") -> Path:
    path = folder / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("20131007_spy_Trade_Tick.csv", "\n".join(lines) + "\n")
    return path


def canonical_csv(folder: Path, rows: list[str], name: str = "t.csv") -> Path:
    path = folder / name
    path.write_text("ts,symbol,price,size,side\n" + "\n".join(rows) + "\n")
    return path


def test_too_many_fields_names_file_line_and_value(tmp_path: Path) -> None:
    lines = [*GOOD_TRADES]
    lines[2] = "34200002,1674300,300,Z,20002000,0,EXTRA"
    path = lean_zip(tmp_path, lines)
    with pytest.raises(DataError) as err:
        load_lean_trades(path, "SPY", "20131007")
    e = err.value
    assert e.line == 3
    assert e.path is not None and e.path.startswith(str(path))
    assert "expected 6 comma-separated fields" in str(e) and "found 7" in str(e)
    assert "EXTRA" in str(e.value)
    assert "re-download" in e.fix


def test_too_few_fields_is_not_silently_filled_with_nan(tmp_path: Path) -> None:
    lines = [*GOOD_TRADES]
    lines[1] = "34200001,1674200,200,Q"
    with pytest.raises(DataError, match="found 4") as err:
        load_lean_trades(lean_zip(tmp_path, lines), "SPY", "20131007")
    assert err.value.line == 2


def test_non_numeric_value_is_named(tmp_path: Path) -> None:
    lines = [*GOOD_TRADES]
    lines[3] = "34200003,16744x0,400,P,20002000,0"
    with pytest.raises(DataError, match="column 'price' is not a number") as err:
        load_lean_trades(lean_zip(tmp_path, lines), "SPY", "20131007")
    assert err.value.line == 4
    assert err.value.value == "16744x0"


def test_empty_field_is_named(tmp_path: Path) -> None:
    lines = [*GOOD_TRADES]
    lines[0] = "34200000,1674100,,P,20002000,0"
    with pytest.raises(DataError, match="column 'size' is empty") as err:
        load_lean_trades(lean_zip(tmp_path, lines), "SPY", "20131007")
    assert err.value.line == 1


def test_truncated_csv_names_the_cut_line(tmp_path: Path) -> None:
    lines = [*GOOD_TRADES, "34200004,16744"]  # the copy stopped mid-row
    with pytest.raises(DataError, match="truncated") as err:
        load_lean_trades(lean_zip(tmp_path, lines), "SPY", "20131007")
    assert err.value.line == 5


def test_truncated_zip_is_reported_with_a_fix(tmp_path: Path) -> None:
    good = lean_zip(tmp_path, GOOD_TRADES * 200)
    cut = tmp_path / "spy_20131008_trade.zip"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DataError, match="not a readable zip archive") as err:
        load_lean_trades(cut, "SPY", "20131008")
    assert err.value.path == str(cut)
    assert "download or copy it again" in err.value.fix


def test_corrupt_zip_member_is_reported(tmp_path: Path) -> None:
    good = lean_zip(tmp_path, [f"{34200000 + i},{1674100 + i},{i + 1},P,1,0" for i in range(500)])
    data = bytearray(good.read_bytes())
    for i in range(60, 90):  # scribble over compressed bytes, keep the directory intact
        data[i] ^= 0xFF
    bad = tmp_path / "spy_20131009_trade.zip"
    bad.write_bytes(bytes(data))
    with pytest.raises(DataError, match="not a readable zip archive"):
        load_lean_trades(bad, "SPY", "20131009")


def test_truncated_gzip_is_reported(tmp_path: Path) -> None:
    blob = gzip.compress(("ts,symbol,price,size,side\n" + "x\n" * 1000).encode())
    path = tmp_path / "t.csv.gz"
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match="not a readable gzip file"):
        read_canonical_csv(path, "trades")


def test_nan_and_nonpositive_prices_are_dropped_and_counted(tmp_path: Path) -> None:
    path = canonical_csv(
        tmp_path,
        [
            "2024-01-02T14:30:00.000000001Z,XYZ,100.0,10,1",
            "2024-01-02T14:30:00.000000002Z,XYZ,nan,10,1",
            "2024-01-02T14:30:00.000000003Z,XYZ,-5.0,10,1",
            "2024-01-02T14:30:00.000000004Z,XYZ,0,10,-1",
            "2024-01-02T14:30:00.000000005Z,XYZ,100.5,-3,0",
            "2024-01-02T14:30:00.000000006Z,XYZ,101.0,20,0",
        ],
    )
    db = tmp_path / "s.duckdb"
    [result] = import_path(db, "trades", path, progress=False)
    assert result.rows == 2
    assert result.report is not None
    assert dict(result.report.dropped) == {
        "nan_price": 1,
        "nonpositive_price": 2,
        "negative_size": 1,
    }
    assert result.report.rows_read == 6
    with DuckDBStore(db) as store:
        assert list(store.read_all("trades")["price"]) == [100.0, 101.0]
        stored = store.imports()["report"].iloc[0]
    assert '"nan_price": 1' in stored  # the counts are kept with the import record


def test_unsorted_events_are_sorted_and_the_moves_counted(tmp_path: Path) -> None:
    path = canonical_csv(
        tmp_path,
        [
            "2024-01-02T14:30:03Z,XYZ,103,1,0",
            "2024-01-02T14:30:01Z,XYZ,101,1,0",
            "2024-01-02T14:30:02Z,XYZ,102,1,0",
            "2024-01-02T14:30:04Z,XYZ,104,1,0",
        ],
    )
    [result] = import_path(tmp_path / "s.duckdb", "trades", path, progress=False)
    assert result.report is not None
    assert result.report.repaired["rows_moved_by_time_sort"] == 3
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        assert list(store.read_all("trades")["price"]) == [101.0, 102.0, 103.0, 104.0]


def test_duplicate_quotes_are_dropped_and_counted_but_identical_trades_kept(
    tmp_path: Path,
) -> None:
    qpath = tmp_path / "q.csv"
    qpath.write_text(
        "ts,symbol,bid,ask,bid_size,ask_size\n"
        "2024-01-02T14:30:01Z,XYZ,99,101,5,5\n"
        "2024-01-02T14:30:01Z,XYZ,99,101,5,5\n"
        "2024-01-02T14:30:02Z,XYZ,99,100,5,5\n"
    )
    [q] = import_path(tmp_path / "s.duckdb", "quotes", qpath, progress=False)
    assert q.rows == 2
    assert q.report is not None and q.report.dropped["exact_duplicate_rows"] == 1
    # Two identical prints in one millisecond are two trades (SPY has thousands of them).
    tpath = canonical_csv(
        tmp_path, ["2024-01-02T14:30:01Z,XYZ,100,100,0", "2024-01-02T14:30:01Z,XYZ,100,100,0"]
    )
    [t] = import_path(tmp_path / "s.duckdb", "trades", tpath, progress=False)
    assert t.rows == 2 and t.report is not None and not t.report.dropped


def test_bad_timestamp_in_canonical_csv_names_line(tmp_path: Path) -> None:
    path = canonical_csv(
        tmp_path, ["2024-01-02T14:30:01Z,XYZ,100,1,0", "yesterday at noon,XYZ,100,1,0"]
    )
    with pytest.raises(DataError, match="not an ISO-8601 timestamp") as err:
        read_canonical_csv(path, "trades")
    assert err.value.line == 3  # header is line 1
    assert err.value.value == "yesterday at noon"


def test_missing_header_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("2024-01-02T14:30:01Z,XYZ,100,1,0\n")
    with pytest.raises(DataError, match="not a header"):
        read_canonical_csv(path, "trades")


def test_conflicting_quote_seconds_stop_the_load(tmp_path: Path) -> None:
    path = tmp_path / "spy_20131007_quote_second.zip"
    rows = [
        "34200000,1674100,1674100,1674100,1674100,100,1674200,1674200,1674200,1674200,100",
        "34200000,1674000,1674000,1674000,1674000,100,1674200,1674200,1674200,1674200,100",
    ]
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("q.csv", "\n".join(rows) + "\n")
    with pytest.raises(DataError, match="two different quote bars for the same second"):
        load_lean_quotes(path, "SPY", "20131007")


def lobster_pair(folder: Path, messages: list[str], book: list[str]) -> tuple[Path, Path]:
    base = folder / "TEST_2012-06-21_34200000_57600000"
    msg = Path(f"{base}_message_1.csv")
    ob = Path(f"{base}_orderbook_1.csv")
    msg.write_text("\n".join(messages) + "\n")
    ob.write_text("\n".join(book) + "\n")
    return msg, ob


def test_lobster_misaligned_orderbook_is_an_error(tmp_path: Path) -> None:
    msg, ob = lobster_pair(
        tmp_path,
        ["34200.1,1,1,100,1000000,1", "34200.2,1,2,100,1000000,1"],
        ["1010000,100,1000000,100"],
    )
    with pytest.raises(DataError, match="must be row-aligned"):
        load_lobster_day(msg, ob, "TEST", "2012-06-21")


def test_lobster_unknown_event_type_is_an_error(tmp_path: Path) -> None:
    msg, ob = lobster_pair(
        tmp_path,
        ["34200.1,1,1,100,1000000,1", "34200.2,9,2,100,1000000,1"],
        ["1010000,100,1000000,100", "1010000,100,1000000,100"],
    )
    with pytest.raises(DataError, match="unknown LOBSTER event type") as err:
        load_lobster_day(msg, ob, "TEST", "2012-06-21")
    assert err.value.line == 2 and err.value.value == 9


def test_lobster_duplicate_messages_are_dropped_and_counted(tmp_path: Path) -> None:
    msg, ob = lobster_pair(
        tmp_path,
        ["34200.1,1,7,100,1000000,1", "34200.2,4,7,50,1000000,1", "34200.2,4,7,50,1000000,1"],
        ["1010000,100,1000000,100", "1010000,100,1000000,50", "1010000,100,1000000,50"],
    )
    day = load_lobster_day(msg, ob, "TEST", "2012-06-21")
    assert len(day.trades) == 1
    assert day.trades_report.dropped["duplicate_message"] == 1


def test_a_bad_file_stops_the_import_without_partial_rows(tmp_path: Path) -> None:
    folder = tmp_path / "lean"
    folder.mkdir()
    lean_zip(folder, GOOD_TRADES, "spy_20131007_trade.zip")
    lean_zip(folder, [*GOOD_TRADES[:2], "oops"], "spy_20131008_trade.zip")
    db = tmp_path / "s.duckdb"
    with pytest.raises(DataError, match=r"spy_20131008_trade\.zip"):
        import_path(db, "lean", folder, progress=False)
    with DuckDBStore(db) as store:
        assert store.count("trades") == 4  # the good day is in, nothing of the bad one
        assert list(store.imports()["path"]) == [str(folder / "spy_20131007_trade.zip")]
    # After fixing the file, importing the folder again adds only the missing day.
    lean_zip(folder, GOOD_TRADES, "spy_20131008_trade.zip")
    results = import_path(db, "lean", folder, progress=False)
    assert [r.status for r in results] == ["skipped", "imported"]


def test_report_summary_reads_well() -> None:
    r = ImportReport("x.csv", rows_read=10, rows_kept=7)
    r.drop("nan_price", 2)
    r.repair("rows_moved_by_time_sort", 1)
    r.drop("zero", 0)  # zero counts are not listed
    assert (
        r.summary() == "7 of 10 rows kept; dropped nan_price=2; repaired rows_moved_by_time_sort=1"
    )
    assert pd.Series(r.as_dict()["dropped"]).to_dict() == {"nan_price": 2}
