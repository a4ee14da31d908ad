"""The DuckDB store: real data imports with exact counts, idempotently; reads push filters down."""

from __future__ import annotations

import zipfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from ash.data.sources.duckdb_source import DuckDBSource
from ash.data.sources.importer import import_path
from ash.data.sources.report import DataError, ImportReport
from ash.data.sources.store import DuckDBStore
from ash.registry import get_registry

SPY_TRADES = {"20131007": 250_601, "20131008": 451_545, "20131009": 439_677}


def zip_lines(path: Path) -> int:
    with zipfile.ZipFile(path) as zf:
        return len(zf.read(zf.namelist()[0]).decode().splitlines())


def test_real_data_counts_match_raw_files(real_store: Path, spy_dir: Path) -> None:
    raw_trades = sum(zip_lines(p) for p in sorted(spy_dir.glob("*_trade.zip")))
    raw_quotes = sum(zip_lines(p) for p in sorted(spy_dir.glob("*_quote_second.zip")))
    assert raw_trades == sum(SPY_TRADES.values())  # no suspicious prints in these files
    with DuckDBStore(real_store, read_only=True) as store:
        assert store.symbols() == ["AMZN", "SPY"]
        n = store.con.execute(
            "SELECT symbol, count(*) FROM trades GROUP BY symbol ORDER BY symbol"
        ).fetchall()
        assert n == [("AMZN", 11_419), ("SPY", raw_trades)]
        q = dict(store.con.execute("SELECT symbol, count(*) FROM quotes GROUP BY 1").fetchall())
        assert q["SPY"] == raw_quotes
        assert q["AMZN"] == 57_515 - 2_444  # messages minus counted unchanged quotes
        imports = store.imports()
        assert len(imports) == 8  # 3 trade + 3 quote files, LOBSTER pair -> trades + quotes
        assert imports["rows"].sum() == store.count("trades") + store.count("quotes")


def test_reimport_is_a_noop(real_store: Path, spy_dir: Path, lobster_dir: Path) -> None:
    with DuckDBStore(real_store) as store:
        before = (store.count("trades"), store.count("quotes"))
        results = import_path(store, "lean", spy_dir, progress=False)
        results += import_path(store, "lobster", lobster_dir, progress=False)
        assert {r.status for r in results} == {"skipped"}
        assert (store.count("trades"), store.count("quotes")) == before


def test_same_events_from_another_file_are_refused(tmp_path: Path, spy_dir: Path) -> None:
    db = tmp_path / "s.duckdb"
    import_path(db, "lean", spy_dir / "spy_20131007_trade.zip", progress=False)
    # The same CSV, unzipped: a different content hash, the same events.
    csv_dir = tmp_path / "spy"
    csv_dir.mkdir()
    with zipfile.ZipFile(spy_dir / "spy_20131007_trade.zip") as zf:
        (csv_dir / "20131007_trade.csv").write_bytes(zf.read(zf.namelist()[0]))
    with pytest.raises(DataError, match="overlap trades already imported") as err:
        import_path(db, "lean", csv_dir / "20131007_trade.csv", progress=False)
    assert "--allow-overlap" in str(err.value)
    with DuckDBStore(db) as store:
        assert store.count("trades") == SPY_TRADES["20131007"]


def test_reads_push_time_and_symbol_filters_down(real_store: Path) -> None:
    start = pd.Timestamp("2013-10-08 14:00", tz="UTC")
    end = pd.Timestamp("2013-10-08 14:05", tz="UTC")
    with DuckDBStore(real_store, read_only=True) as store:
        plan = store.explain("trades", ["SPY"], start, end)
        scan = plan[plan.index("SCAN") :]
        assert "Filters" in scan
        assert "symbol='SPY'" in scan
        flat = "".join(ch for ch in scan if ch not in " \n│")
        assert "ts>='2013-10-0814:00:00'::TIMESTAMP_NS" in flat
        assert "ts<'2013-10-0814:05:00'::TIMESTAMP_NS" in flat
        got = store.read_all("trades", ["SPY"], start, end)
        all_spy = store.con.execute(
            "SELECT count(*) FROM trades WHERE symbol = 'SPY' AND ts >= TIMESTAMP_NS "
            "'2013-10-08 14:00:00' AND ts < TIMESTAMP_NS '2013-10-08 14:05:00'"
        ).fetchone()
    assert all_spy is not None
    assert len(got) == all_spy[0] > 0
    assert got["ts"].min() >= start and got["ts"].max() < end
    assert (got["symbol"] == "SPY").all()


def test_chunked_reads_are_exact_and_ordered(real_store: Path) -> None:
    src = DuckDBSource(DuckDBSource.Config(path=str(real_store)))
    try:
        chunks = list(src.read("trades", ["AMZN"], chunk_rows=5_000))
        assert [len(c) for c in chunks] == [5_000, 5_000, 1_419]
        df = pd.concat(chunks, ignore_index=True)
        assert df["ts"].is_monotonic_increasing
        assert df["ts"].dt.tz is not None and str(df["ts"].dt.tz) == "UTC"
        # Ties keep the file's order: the first two executions share a nanosecond timestamp.
        assert df["ts"].iloc[1] == df["ts"].iloc[2]
        assert list(df["price"].iloc[1:3]) == [223.81, 223.75]
        both = pd.concat(src.read("trades", [], chunk_rows=400_000), ignore_index=True)
        assert len(both) == sum(SPY_TRADES.values()) + 11_419
        assert both["ts"].is_monotonic_increasing
        assert src.event_kinds() == frozenset({"trades", "quotes"})
    finally:
        src.close()


def test_nanoseconds_survive_the_round_trip(real_store: Path) -> None:
    with DuckDBStore(real_store, read_only=True) as store:
        first = store.read_all("trades", ["AMZN"]).iloc[0]
    assert first["ts"] == pd.Timestamp("2012-06-21 13:30:00.017459617", tz="UTC")


def test_registry_builds_the_duckdb_source(real_store: Path) -> None:
    cls = get_registry().get("source", "duckdb")
    src = cls(cls.Config(path=str(real_store)))  # type: ignore[call-arg]
    assert isinstance(src, DuckDBSource)
    assert src.symbols() == ["AMZN", "SPY"]
    src.close()
    assert {"duckdb", "sql", "lean", "lobster"} <= set(get_registry().names("source"))


def canonical_trades(n: int = 50, symbol: str = "XYZ", step_ns: int = 1_000_003) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "ts": pd.Timestamp("2024-01-02 14:30", tz="UTC")
            + pd.to_timedelta(np.arange(n) * step_ns, unit="ns"),
            "symbol": symbol,
            "price": 100 + rng.normal(0, 0.1, n).cumsum(),
            "size": rng.integers(1, 500, n).astype(float),
            "side": rng.choice([-1, 0, 1], n),
        }
    )


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    con = duckdb.connect()
    con.register("df", df)
    con.execute(f"COPY (SELECT * FROM df) TO '{path}' (FORMAT parquet)")
    con.close()


def test_canonical_csv_and_parquet_import(tmp_path: Path) -> None:
    df = canonical_trades()
    csv = tmp_path / "t.csv"
    df.assign(ts=df["ts"].map(lambda t: t.isoformat())).to_csv(csv, index=False)
    pq = tmp_path / "t.parquet"
    write_parquet(canonical_trades(symbol="ABC"), pq)
    db = tmp_path / "s.duckdb"
    import_path(db, "trades", csv, progress=False)
    import_path(db, "trades", pq, progress=False)
    with DuckDBStore(db) as store:
        back = store.read_all("trades", ["XYZ"])
        assert store.count("trades") == 100
    pd.testing.assert_series_equal(back["ts"], df["ts"], check_names=False)
    assert np.allclose(back["price"], df["price"])
    assert list(back["side"]) == list(df["side"])


def test_parquet_registered_in_place_as_a_view(tmp_path: Path) -> None:
    pq = tmp_path / "t.parquet"
    df = canonical_trades(200, step_ns=1_003_000)  # Parquet via DuckDB keeps microseconds
    write_parquet(df, pq)
    db = tmp_path / "v.duckdb"
    results = import_path(db, "trades", pq, in_place=True, progress=False)
    assert results[0].status == "registered" and results[0].rows == 200
    assert import_path(db, "trades", pq, in_place=True, progress=False)[0].status == "skipped"
    with DuckDBStore(db) as store:
        assert store.is_view("trades")
        start = df["ts"].iloc[50]
        got = store.read_all("trades", ["XYZ"], start, df["ts"].iloc[60])
        assert len(got) == 10
        assert got["ts"].iloc[0] == start
        with pytest.raises(DataError, match="registered in place"):
            store.insert("trades", df, file_hash="x", path="y", report=ImportReport("y"))


def test_canonical_options_import(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(
        "ts,underlying,expiry,strike,right,bid,ask,iv,delta,gamma,vega,theta,volume,"
        "open_interest\n"
        "2024-01-02T15:00:00Z,SPY,2024-01-19T21:00:00Z,470,C,5.1,5.2,0.12,0.5,0.03,0.4,-20,"
        "1500,20000\n"
        "2024-01-02T15:00:00Z,SPY,2024-01-19T21:00:00Z,470,P,4.9,5.0,0.13,-0.5,0.03,0.4,-19,"
        "900,18000\n"
    )
    db = tmp_path / "s.duckdb"
    [r] = import_path(db, "options", path, progress=False)
    assert r.rows == 2
    with DuckDBStore(db) as store:
        assert store.symbols("options") == ["SPY"]
        back = store.read_all("options", ["SPY"])
    assert list(back["right"]) == ["C", "P"]
    assert back["expiry"].iloc[0] == pd.Timestamp("2024-01-19 21:00", tz="UTC")
    assert str(back["expiry"].dtype) == "datetime64[ns, UTC]"


def test_missing_store_is_explained(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no DuckDB store here") as err:
        DuckDBSource(DuckDBSource.Config(path=str(tmp_path / "nope.duckdb")))
    assert "ash data import" in err.value.fix
