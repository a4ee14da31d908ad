"""The embedded event store: one DuckDB file with the canonical tables.

Tables (see docs/data.md): ``trades``, ``quotes``, ``options`` in the canonical schemas of
:mod:`ash.data.schema` plus a ``seq`` column (arrival order, breaks timestamp ties the way the
source file ordered them); ``halts`` (``ts, symbol, state, origin``) and ``ash_imports`` (one row
per imported file and table: content hash, row counts, time range and counted repairs as JSON).

Timestamps are stored as ``TIMESTAMP_NS`` holding UTC (DuckDB's ``TIMESTAMPTZ`` has only
microseconds); readers get ``datetime64[ns, UTC]`` back. Every connection sets ``TimeZone=UTC``.

Reads push symbol and time filters down to DuckDB as parameterized SQL and fetch the result in
chunks, one UTC day at a time, so memory holds one chunk, never the whole range.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ash.data.schema import SCHEMAS
from ash.data.sources.canonical import as_utc, empty_frame, rechunk, to_canonical
from ash.data.sources.report import DataError, ImportReport
from ash.data.sources.store_sql import (
    check_is_duckdb,
    naive_utc,
    ns_literal,
    parquet_union_sql,
    symbol_column,
    table_ddl,
    to_db,
)
from ash.interfaces import EventKind

EVENT_KINDS: tuple[EventKind, ...] = ("trades", "quotes", "options")
VECTOR_ROWS = 2048  # DuckDB's vector size: fetch_df_chunk counts in vectors


META_DDL = (
    "CREATE TABLE IF NOT EXISTS halts (ts TIMESTAMP_NS, symbol VARCHAR, state VARCHAR, "
    "origin VARCHAR)",
    "CREATE TABLE IF NOT EXISTS ash_imports (file_hash VARCHAR, kind VARCHAR, path VARCHAR, "
    "mode VARCHAR, symbols VARCHAR, rows BIGINT, ts_min TIMESTAMP_NS, ts_max TIMESTAMP_NS, "
    "report VARCHAR, imported_at TIMESTAMP DEFAULT current_timestamp, "
    "PRIMARY KEY (file_hash, kind))",
)


class DuckDBStore:
    """A DuckDB database file holding canonical event tables. Use as a context manager."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        if read_only and not self.path.exists():
            raise DataError(
                "no DuckDB store here", path=self.path, fix="create it with `ash data import`"
            )
        check_is_duckdb(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise DataError(
                f"cannot open the DuckDB store ({exc})",
                path=self.path,
                fix="is another process writing to it, or is the file not a DuckDB database?",
            ) from None
        self.con.execute("SET TimeZone='UTC'")
        self.read_only = read_only
        if not read_only:
            for kind in EVENT_KINDS:
                if not self._relation_exists(kind):
                    self.con.execute(table_ddl(kind))
            for ddl in META_DDL:
                self.con.execute(ddl)

    def __enter__(self) -> DuckDBStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    # -- catalogue ---------------------------------------------------------------------------

    def _relation_exists(self, name: str) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? UNION ALL "
            "SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND NOT internal",
            [name, name],
        ).fetchall()
        return sum(int(r[0]) for r in row) > 0

    def is_view(self, kind: str) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND NOT internal", [kind]
        ).fetchone()
        return bool(row and row[0])

    def has(self, kind: str) -> bool:
        return self._relation_exists(kind)

    def count(self, kind: EventKind) -> int:
        if not self.has(kind):
            return 0
        row = self.con.execute(f"SELECT count(*) FROM {kind}").fetchone()
        return int(row[0]) if row else 0

    def symbols(self, kind: EventKind | None = None) -> list[str]:
        kinds = [kind] if kind else [k for k in EVENT_KINDS if self.has(k)]
        found: set[str] = set()
        for k in kinds:
            col = symbol_column(k)
            found.update(
                r[0] for r in self.con.execute(f"SELECT DISTINCT {col} FROM {k}").fetchall()
            )
        return sorted(s for s in found if s is not None)

    def time_range(self, kind: EventKind) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        row = self.con.execute(f"SELECT min(ts), max(ts) FROM {kind}").fetchone()
        if not row or row[0] is None:
            return None
        return as_utc(pd.Timestamp(row[0])), as_utc(pd.Timestamp(row[1]))

    def imports(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM ash_imports ORDER BY imported_at, path").df()

    def halts(self) -> pd.DataFrame:
        df = self.con.execute("SELECT ts, symbol, state, origin FROM halts ORDER BY ts").df()
        df["ts"] = pd.to_datetime(df["ts"]).dt.tz_localize("UTC")
        return df

    def already_imported(self, file_hash: str, kind: str) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM ash_imports WHERE file_hash = ? AND kind = ?", [file_hash, kind]
        ).fetchone()
        return bool(row and row[0])

    # -- writing -----------------------------------------------------------------------------

    def check_overlap(self, kind: EventKind, df: pd.DataFrame, origin: str) -> None:
        """Refuse data that overlaps, for the same symbol, data imported from another file.

        The same events arriving twice through different files (a CSV and its zip, two vendors)
        would double every volume; a content hash cannot catch that, a time-range check can.
        """
        col = symbol_column(kind)
        for sym, part in df.groupby(col, sort=True):
            lo, hi = part["ts"].min(), part["ts"].max()
            rows = self.con.execute(
                "SELECT path, ts_min, ts_max FROM ash_imports WHERE kind = ? AND mode = 'copy' "
                "AND list_contains(string_split(symbols, ','), ?) AND ts_min <= ? AND ts_max >= ?",
                [kind, str(sym), naive_utc(hi), naive_utc(lo)],
            ).fetchall()
            if rows:
                raise DataError(
                    f"{kind} of {sym} from {lo} to {hi} overlap {kind} already imported from "
                    f"{rows[0][0]} ({rows[0][1]} .. {rows[0][2]})",
                    path=origin,
                    fix="importing the same events twice would double-count them; if these are "
                    "different events, pass --allow-overlap",
                )

    def insert(
        self,
        kind: EventKind,
        df: pd.DataFrame,
        *,
        file_hash: str,
        path: str,
        report: ImportReport,
        halts: pd.DataFrame | None = None,
    ) -> None:
        """Append canonical rows and the import record in one transaction (all or nothing)."""
        if self.is_view(kind):
            raise DataError(
                f"{kind} in this store are Parquet files registered in place; it cannot also "
                "hold copied rows",
                path=path,
                fix="use a separate store for in-place Parquet, or import copies everywhere",
            )
        df = to_canonical(df, kind, origin=path)
        self.con.begin()
        try:
            row = self.con.execute(f"SELECT coalesce(max(seq), -1) + 1 FROM {kind}").fetchone()
            base = int(row[0]) if row else 0
            frame = to_db(df)
            frame["seq"] = np.arange(base, base + len(frame), dtype="int64")
            self.con.register("_ash_incoming", frame)
            cols = ", ".join(f'"{c}"' for c in (*SCHEMAS[kind], "seq"))
            self.con.execute(f"INSERT INTO {kind} ({cols}) SELECT {cols} FROM _ash_incoming")
            self.con.unregister("_ash_incoming")
            if halts is not None and len(halts):
                h = to_db(halts[["ts", "symbol", "state"]]).assign(origin=path)
                self.con.register("_ash_halts", h)
                self.con.execute(
                    "INSERT INTO halts SELECT ts, symbol, state, origin FROM _ash_halts"
                )
                self.con.unregister("_ash_halts")
            self._record(kind, df, file_hash, path, "copy", report)
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise

    def _record(
        self,
        kind: str,
        df: pd.DataFrame | None,
        file_hash: str,
        path: str,
        mode: str,
        report: ImportReport | None,
    ) -> None:
        symbols = ""
        lo = hi = None
        rows = 0
        if df is not None and len(df):
            symbols = ",".join(sorted(df[symbol_column(kind)].astype(str).unique()))  # type: ignore[arg-type]
            lo, hi = naive_utc(df["ts"].min()), naive_utc(df["ts"].max())
            rows = len(df)
        self.con.execute(
            "INSERT INTO ash_imports (file_hash, kind, path, mode, symbols, rows, ts_min, ts_max, "
            "report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                file_hash,
                kind,
                path,
                mode,
                symbols,
                rows,
                lo,
                hi,
                json.dumps(report.as_dict()) if report else "{}",
            ],
        )

    def register_parquet(self, kind: EventKind, path: Path, file_hash: str) -> int:
        """Register a canonical Parquet file in place: ``kind`` becomes a view over all of them."""
        if self.is_view(kind) is False and self.count(kind):
            raise DataError(
                f"this store already holds copied {kind}; it cannot also read {kind} in place",
                path=path,
                fix="register in-place Parquet in a separate store, or import without --in-place",
            )
        self._check_parquet_columns(kind, path)
        registered = [
            r[0]
            for r in self.con.execute(
                "SELECT path FROM ash_imports WHERE kind = ? AND mode = 'view' "
                "ORDER BY imported_at",
                [kind],
            ).fetchall()
        ]
        files = [*registered, str(path.resolve())]
        self.con.begin()
        try:
            if not self.is_view(kind):
                self.con.execute(f"DROP TABLE IF EXISTS {kind}")
            self.con.execute(f"CREATE OR REPLACE VIEW {kind} AS {parquet_union_sql(kind, files)}")
            row = self.con.execute(
                "SELECT count(*), min(ts), max(ts) FROM read_parquet(?)", [str(path.resolve())]
            ).fetchone()
            assert row is not None
            self.con.execute(
                "INSERT INTO ash_imports (file_hash, kind, path, mode, symbols, rows, ts_min, "
                "ts_max, report) VALUES (?, ?, ?, 'view', '', ?, NULL, NULL, '{}')",
                [file_hash, kind, str(path.resolve()), int(row[0])],
            )
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        return int(row[0])

    def _check_parquet_columns(self, kind: EventKind, path: Path) -> None:
        try:
            desc = self.con.execute(
                "DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]
            ).fetchall()
        except duckdb.Error as exc:
            raise DataError(
                f"not a readable Parquet file ({exc})",
                path=path,
                fix="the file is truncated or not Parquet; write it again",
            ) from None
        have = {r[0] for r in desc}
        missing = [c for c in SCHEMAS[kind] if c not in have]
        if missing:
            raise DataError(
                f"Parquet file lacks canonical {kind} columns {missing}; it has {sorted(have)}",
                path=path,
                fix="rename the columns to the canonical names (docs/data.md)",
            )

    # -- reading -----------------------------------------------------------------------------

    def _where(
        self,
        kind: EventKind,
        symbols: Sequence[str] | None,
        start: pd.Timestamp | None,
        end: pd.Timestamp | None,
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if symbols:
            clauses.append(f"{symbol_column(kind)} IN ({', '.join('?' for _ in symbols)})")
            params.extend(str(s) for s in symbols)
        if start is not None:
            clauses.append("ts >= CAST(? AS TIMESTAMP_NS)")
            params.append(ns_literal(start))
        if end is not None:
            clauses.append("ts < CAST(? AS TIMESTAMP_NS)")
            params.append(ns_literal(end))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def select_sql(
        self,
        kind: EventKind,
        symbols: Sequence[str] | None = None,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> tuple[str, list[Any]]:
        """The parameterized query a read runs (for ``EXPLAIN`` and tests)."""
        where, params = self._where(kind, symbols, start, end)
        cols = ", ".join(f'"{c}"' for c in SCHEMAS[kind])
        return f"SELECT {cols} FROM {kind}{where} ORDER BY ts, seq", params

    def explain(
        self,
        kind: EventKind,
        symbols: Sequence[str] | None = None,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> str:
        """DuckDB's physical plan of a read: the scan lists the pushed-down filters."""
        sql, params = self.select_sql(kind, symbols, start, end)
        return "\n".join(str(r[1]) for r in self.con.execute("EXPLAIN " + sql, params).fetchall())

    def read(
        self,
        kind: EventKind,
        symbols: Sequence[str] | None = None,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        chunk_rows: int = 1_000_000,
    ) -> Iterator[pd.DataFrame]:
        """Canonical frames of ``kind`` in time order, at most ``chunk_rows`` rows each.

        Runs one query per UTC day of the requested range so DuckDB sorts a day, not a year.
        """
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        if not self.has(kind):
            return
        yield from rechunk(self._read_days(kind, symbols, start, end, chunk_rows), chunk_rows)

    def _read_days(
        self,
        kind: EventKind,
        symbols: Sequence[str] | None,
        start: pd.Timestamp | None,
        end: pd.Timestamp | None,
        chunk_rows: int,
    ) -> Iterator[pd.DataFrame]:
        where, params = self._where(kind, symbols, start, end)
        row = self.con.execute(f"SELECT min(ts), max(ts) FROM {kind}{where}", params).fetchone()
        if not row or row[0] is None:
            return
        first = pd.Timestamp(row[0]).floor("D").tz_localize("UTC")
        last = pd.Timestamp(row[1]).tz_localize("UTC")
        vectors = max(1, chunk_rows // VECTOR_ROWS)
        day = first
        cur = self.con.cursor()  # own handle: other reads may run while this generator is open
        try:
            while day <= last:
                lo = day if start is None else max(day, as_utc(start))
                hi = day + pd.Timedelta(days=1)
                hi = hi if end is None else min(hi, as_utc(end))
                sql, p = self.select_sql(kind, symbols, lo, hi)
                cur.execute(sql, p)
                while True:
                    chunk = cur.fetch_df_chunk(vectors)
                    if chunk.empty:
                        break
                    yield to_canonical(chunk, kind)
                day = day + pd.Timedelta(days=1)
        finally:
            cur.close()

    def read_all(
        self,
        kind: EventKind,
        symbols: Sequence[str] | None = None,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Everything a read returns, in one frame (small data, tests, profiling per symbol)."""
        parts = list(self.read(kind, symbols, start, end))
        return pd.concat(parts, ignore_index=True) if parts else empty_frame(kind)
