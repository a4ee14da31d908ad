"""SQL pieces of the event store (:mod:`ash.data.sources.store`): table DDL, timestamp literals,
frames as DuckDB ingests them, a typed union over Parquet files, and the file-type check."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ash.data.schema import SCHEMAS
from ash.data.sources.canonical import as_utc
from ash.data.sources.report import DataError
from ash.interfaces import EventKind

SQL_TYPES = {
    "datetime64[ns, UTC]": "TIMESTAMP_NS",
    "string": "VARCHAR",
    "float64": "DOUBLE",
    "int8": "TINYINT",
}
# A DuckDB database file carries this magic at byte 8 (after a checksum).
DUCKDB_MAGIC = b"DUCK"
DUCKDB_MAGIC_OFFSET = 8


def symbol_column(kind: EventKind) -> str:
    return "underlying" if kind == "options" else "symbol"


def table_ddl(kind: EventKind) -> str:
    cols = ", ".join(f'"{c}" {SQL_TYPES[t]}' for c, t in SCHEMAS[kind].items())
    return f"CREATE TABLE IF NOT EXISTS {kind} ({cols}, seq BIGINT)"


def naive_utc(t: Any) -> pd.Timestamp:
    ts = as_utc(pd.Timestamp(t))
    return ts.tz_localize(None)


def ns_literal(t: pd.Timestamp | str) -> str:
    """An ISO literal with all nine fractional digits (Python datetimes stop at microseconds)."""
    ts = naive_utc(t)
    return ts.strftime("%Y-%m-%d %H:%M:%S") + f".{ts.microsecond * 1000 + ts.nanosecond:09d}"


def to_db(df: pd.DataFrame) -> pd.DataFrame:
    """Naive-UTC nanosecond timestamps and plain object strings, as DuckDB ingests them."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            out[col] = s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
        elif isinstance(s.dtype, pd.StringDtype):
            out[col] = s.astype(object)
    return out


def parquet_union_sql(kind: EventKind, files: Sequence[str]) -> str:
    parts = []
    for i, f in enumerate(files):
        cols = []
        for c, t in SCHEMAS[kind].items():
            cols.append(f'CAST("{c}" AS {SQL_TYPES[t]}) AS "{c}"')
        literal = f.replace("'", "''")
        parts.append(
            f"SELECT {', '.join(cols)}, ({i}::BIGINT << 40) + file_row_number AS seq "
            f"FROM read_parquet('{literal}', file_row_number = true)"
        )
    return " UNION ALL ".join(parts)


def check_is_duckdb(path: Path) -> None:
    """An existing file must be a DuckDB database, not a CSV or Parquet file given by mistake."""
    if path.is_dir():
        raise DataError(
            "is a folder, not a DuckDB store file", path=path, fix="point at the .duckdb file"
        )
    if not path.is_file() or path.stat().st_size == 0:
        return  # a new store is created here
    with path.open("rb") as handle:
        head = handle.read(DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC))
    if head[DUCKDB_MAGIC_OFFSET:] != DUCKDB_MAGIC:
        raise DataError(
            "is not a DuckDB database (no DuckDB header)",
            path=path,
            fix="point data.source.path at a store written by `ash data import`, or use the "
            "source that reads this file's format (lean, lobster, ...)",
        )
