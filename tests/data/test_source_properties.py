"""Property tests: chunking, sorting and store reads keep every event, in order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ash.data.sources.canonical import rechunk, sort_by_time
from ash.data.sources.report import ImportReport
from ash.data.sources.store import DuckDBStore

BASE = pd.Timestamp("2024-01-02 14:30", tz="UTC")


def trades_from(offsets_ns: list[int], symbols: list[str] | None = None) -> pd.DataFrame:
    n = len(offsets_ns)
    return pd.DataFrame(
        {
            "ts": BASE + pd.to_timedelta(np.array(offsets_ns, dtype="int64"), unit="ns"),
            "symbol": pd.array(symbols or ["XYZ"] * n, dtype="string"),
            "price": 100.0 + np.arange(n, dtype="float64"),
            "size": np.ones(n),
            "side": np.zeros(n, dtype="int8"),
        }
    )


@given(
    sizes=st.lists(st.integers(0, 30), max_size=8),
    chunk_rows=st.integers(1, 25),
)
def test_rechunk_keeps_rows_and_order(sizes: list[int], chunk_rows: int) -> None:
    frames = []
    start = 0
    for s in sizes:
        frames.append(pd.DataFrame({"i": np.arange(start, start + s)}))
        start += s
    out = list(rechunk(frames, chunk_rows))
    assert all(len(c) == chunk_rows for c in out[:-1])
    assert all(0 < len(c) <= chunk_rows for c in out)
    joined = np.concatenate([c["i"].to_numpy() for c in out]) if out else np.array([])
    assert np.array_equal(joined, np.arange(start))


@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=60))
def test_sort_is_stable_and_counts_moves(offsets: list[int]) -> None:
    df = trades_from(offsets)
    report = ImportReport("x")
    out = sort_by_time(df, report)
    assert out["ts"].is_monotonic_increasing
    order = np.argsort(np.array(offsets), kind="stable")
    assert np.array_equal(out["price"].to_numpy(), df["price"].to_numpy()[order])
    moved = int((order != np.arange(len(order))).sum())
    assert report.repaired.get("rows_moved_by_time_sort", 0) == moved


@settings(max_examples=15, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 3 * 86_400 * 10**9), min_size=1, max_size=40),
    bounds=st.tuples(st.integers(0, 3 * 86_400 * 10**9), st.integers(0, 3 * 86_400 * 10**9)),
    chunk_rows=st.integers(1, 7),
)
def test_store_reads_equal_a_pandas_filter(
    tmp_path_factory: object,
    offsets: list[int],
    bounds: tuple[int, int],
    chunk_rows: int,
) -> None:
    import tempfile

    lo, hi = sorted(bounds)
    syms = ["A" if i % 3 else "B" for i in range(len(offsets))]
    df = sort_by_time(trades_from(sorted(offsets), syms), ImportReport("x"))
    start, end = BASE + pd.Timedelta(lo, "ns"), BASE + pd.Timedelta(hi, "ns")
    with tempfile.TemporaryDirectory() as d, DuckDBStore(Path(d) / "p.duckdb") as store:
        store.insert("trades", df, file_hash="h", path="mem", report=ImportReport("mem"))
        chunks = list(store.read("trades", ["A"], start, end, chunk_rows=chunk_rows))
    got = pd.concat(chunks, ignore_index=True) if chunks else df.iloc[:0]
    want = df[(df["symbol"] == "A") & (df["ts"] >= start) & (df["ts"] < end)]
    assert all(len(c) == chunk_rows for c in chunks[:-1])
    assert np.array_equal(got["price"].to_numpy(), want["price"].to_numpy())
    assert np.array_equal(got["ts"].to_numpy(), want["ts"].to_numpy())
