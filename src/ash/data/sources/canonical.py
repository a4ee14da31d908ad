"""Canonical event frames: the schemas' columns and types, and the shared cleaning pass.

Bad-data policy (also in docs/data.md): a row that is well-formed but unusable (NaN, infinite or
non-positive price, NaN/infinite/negative size, no timestamp) is dropped, and every such drop or
repair (re-sorting unsorted input, dropping exact duplicate quotes) is counted in an
:class:`~ash.data.sources.report.ImportReport` that import prints and stores. Nothing is changed
silently. Reading vendor files (archives, CSV, exchange-local times) is
:mod:`ash.data.sources.vendor_files`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from ash.data.schema import SCHEMAS
from ash.data.sources.report import DataError, ImportReport
from ash.interfaces import EventKind

PRICE_COLUMNS: dict[str, tuple[str, ...]] = {
    "trades": ("price",),
    "quotes": ("bid", "ask"),
    "options": ("strike",),
}
SIZE_COLUMNS: dict[str, tuple[str, ...]] = {
    "trades": ("size",),
    "quotes": ("bid_size", "ask_size"),
    "options": ("volume", "open_interest"),
}


def ts_ns(s: pd.Series[Any]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Nanoseconds since the epoch of a datetime column, without building Timestamp objects."""
    return np.asarray(pd.DatetimeIndex(s).asi8)


def empty_frame(kind: EventKind) -> pd.DataFrame:
    """A zero-row frame in the canonical schema of ``kind``."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in SCHEMAS[kind].items()})


def to_canonical(df: pd.DataFrame, kind: EventKind, *, origin: str = "<frame>") -> pd.DataFrame:
    """Select, order and cast the canonical columns of ``kind`` (timestamps become UTC, ns)."""
    schema = SCHEMAS[kind]
    missing = [c for c in schema if c not in df.columns]
    if kind == "trades" and missing == ["side"]:
        df = df.assign(side=0)
        missing = []
    if missing:
        raise DataError(
            f"missing canonical {kind} column(s) {missing}; found {list(df.columns)}",
            path=origin,
            fix=f"provide columns {list(schema)} (see docs/data.md)",
        )
    out: dict[str, pd.Series[Any]] = {}
    for col, dtype in schema.items():
        s = df[col]
        if dtype.startswith("datetime64"):
            s = to_utc(s, col=col, origin=origin)
        elif dtype == "string":
            s = s.astype("string")
        elif dtype == "int8":
            s = pd.to_numeric(s, errors="raise").fillna(0).astype("int8")
        else:
            s = s.astype(np.dtype(dtype))
        out[col] = s
    return pd.DataFrame(out).reset_index(drop=True)


def to_utc(s: pd.Series[Any], *, col: str = "ts", origin: str = "<frame>") -> pd.Series[Any]:
    """Timestamps as ``datetime64[ns, UTC]``; naive timestamps are taken to be UTC already."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return cast("pd.Series[Any]", s.dt.tz_convert("UTC").astype("datetime64[ns, UTC]"))
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return cast("pd.Series[Any]", s.dt.tz_localize("UTC").astype("datetime64[ns, UTC]"))
    try:
        parsed = pd.to_datetime(s, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise DataError(
            f"column {col!r} holds values that are not timestamps: {exc}",
            path=origin,
            fix="write ISO-8601 timestamps (e.g. 2013-10-07T13:30:00.123456789Z)",
        ) from None
    return parsed.astype("datetime64[ns, UTC]")


def drop_unusable(df: pd.DataFrame, kind: EventKind, report: ImportReport) -> pd.DataFrame:
    """Drop (and count) rows with NaN/infinite/non-positive prices, NaN/infinite/negative sizes
    or NaT times: a price of +inf would otherwise be stored and poison every bar it reaches."""
    bad = df["ts"].isna().to_numpy()
    report.drop("missing_timestamp", int(bad.sum()))
    for col in PRICE_COLUMNS[kind]:
        v = df[col].to_numpy(dtype="float64")
        nan = np.isnan(v) & ~bad
        report.drop(f"nan_{col}", int(nan.sum()))
        bad |= nan
        infinite = np.isinf(v) & ~bad
        report.drop(f"infinite_{col}", int(infinite.sum()))
        bad |= infinite
        nonpos = (v <= 0) & ~bad
        report.drop(f"nonpositive_{col}", int(nonpos.sum()))
        bad |= nonpos
    for col in SIZE_COLUMNS[kind]:
        v = df[col].to_numpy(dtype="float64")
        # Quote sizes and option volumes may be NaN where a vendor leaves them out; trade sizes
        # may not, because the bar builder sums them.
        nan = np.isnan(v) & ~bad if kind == "trades" else np.zeros(len(v), bool)
        report.drop(f"nan_{col}", int(nan.sum()))
        bad |= nan
        infinite = np.isinf(v) & ~bad
        report.drop(f"infinite_{col}", int(infinite.sum()))
        bad |= infinite
        neg = (v < 0) & ~bad
        report.drop(f"negative_{col}", int(neg.sum()))
        bad |= neg
    if bad.any():
        df = df.loc[~bad].reset_index(drop=True)
    return df


def sort_by_time(df: pd.DataFrame, report: ImportReport) -> pd.DataFrame:
    """Stable sort by time; counts the rows that had to move (0 for already sorted input)."""
    ts = ts_ns(df["ts"])
    if len(ts) < 2 or bool((ts[1:] >= ts[:-1]).all()):
        return df
    order = np.argsort(ts, kind="stable")
    moved = int((order != np.arange(len(order))).sum())
    report.repair("rows_moved_by_time_sort", moved)
    if moved:
        df = df.iloc[order].reset_index(drop=True)
    return df


def drop_exact_duplicates(df: pd.DataFrame, report: ImportReport, reason: str) -> pd.DataFrame:
    """Drop rows identical in every column to another row (the first copy is kept)."""
    dup = df.duplicated(keep="first").to_numpy()
    report.drop(reason, int(dup.sum()))
    if dup.any():
        df = df.loc[~dup].reset_index(drop=True)
    return df


def clean(
    df: pd.DataFrame, kind: EventKind, report: ImportReport, *, dedupe: bool | None = None
) -> pd.DataFrame:
    """The shared cleaning pass: drop unusable rows, sort by time, optionally dedupe.

    ``dedupe`` defaults to True for quotes and options (an exact repeat carries no information)
    and False for trades, where identical prints in the same timestamp are real, separate trades.
    """
    report.rows_read += len(df)
    df = drop_unusable(df, kind, report)
    df = sort_by_time(df, report)
    if dedupe is None:
        dedupe = kind != "trades"
    if dedupe:
        df = drop_exact_duplicates(df, report, "exact_duplicate_rows")
    report.rows_kept += len(df)
    return df


def rechunk(frames: Iterable[pd.DataFrame], chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Re-cut a stream of frames into frames of exactly ``chunk_rows`` rows (last may be short)."""
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    pending: list[pd.DataFrame] = []
    held = 0
    for frame in frames:
        if frame.empty:
            continue
        pending.append(frame)
        held += len(frame)
        while held >= chunk_rows:
            joined = pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
            yield joined.iloc[:chunk_rows].reset_index(drop=True)
            rest = joined.iloc[chunk_rows:]
            pending = [rest] if len(rest) else []
            held = len(rest)
    if held:
        yield (
            pd.concat(pending, ignore_index=True)
            if len(pending) > 1
            else pending[0].reset_index(drop=True)
        )


def filter_frame(
    df: pd.DataFrame,
    symbols: Sequence[str] | None,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    symbol_col: str = "symbol",
) -> pd.DataFrame:
    """Rows of ``symbols`` with ``start <= ts < end`` (None means unbounded)."""
    keep = np.ones(len(df), dtype=bool)
    if symbols:
        keep &= df[symbol_col].isin(list(symbols)).to_numpy()
    if start is not None:
        keep &= (df["ts"] >= as_utc(start)).to_numpy()
    if end is not None:
        keep &= (df["ts"] < as_utc(end)).to_numpy()
    return df if keep.all() else df.loc[keep].reset_index(drop=True)


def as_utc(t: pd.Timestamp | str) -> pd.Timestamp:
    """A timestamp in UTC; naive input is taken to be UTC."""
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
