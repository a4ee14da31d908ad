"""Shared pieces of every source: precise data errors, counted repairs, canonical frames.

Bad-data policy (also in docs/data.md): a malformed file (wrong column count, a non-numeric or
empty field, a corrupt archive) is an error naming the file, the line and the value. A row that is
well-formed but unusable (NaN or non-positive price, negative size) is dropped, and every such drop
or repair (re-sorting unsorted input, dropping exact duplicate quotes) is counted in an
:class:`ImportReport` that import prints and stores. Nothing is changed silently.
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from ash.data.schema import SCHEMAS
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


class DataError(ValueError):
    """Input data that cannot be used as it is: says what, where (file, line, value), what to do."""

    def __init__(
        self,
        what: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        value: object = None,
        fix: str = "",
    ) -> None:
        self.what = what
        self.path = None if path is None else str(path)
        self.line = line
        self.value = value
        self.fix = fix
        where = ""
        if self.path is not None:
            where = f"{self.path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        text = f"{where}{what}"
        if value is not None:
            text += f" (value {value!r})"
        if fix:
            text += f". {fix}"
        super().__init__(text)


@dataclass
class ImportReport:
    """What happened to the rows of one input: kept rows and every counted drop or repair."""

    origin: str
    rows_read: int = 0
    rows_kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    repaired: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def drop(self, reason: str, count: int) -> None:
        if count:
            self.dropped[reason] += int(count)

    def repair(self, reason: str, count: int) -> None:
        if count:
            self.repaired[reason] += int(count)

    def merge(self, other: ImportReport) -> None:
        self.rows_read += other.rows_read
        self.rows_kept += other.rows_kept
        self.dropped.update(other.dropped)
        self.repaired.update(other.repaired)
        self.notes.extend(other.notes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "dropped": dict(self.dropped),
            "repaired": dict(self.repaired),
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        parts = [f"{self.rows_kept:,} of {self.rows_read:,} rows kept"]
        if self.dropped:
            parts.append(
                "dropped " + ", ".join(f"{k}={v:,}" for k, v in sorted(self.dropped.items()))
            )
        if self.repaired:
            parts.append(
                "repaired " + ", ".join(f"{k}={v:,}" for k, v in sorted(self.repaired.items()))
            )
        return "; ".join(parts)


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
    """Drop (and count) rows with NaN/non-positive prices, NaN/negative sizes or NaT times."""
    bad = df["ts"].isna().to_numpy()
    report.drop("missing_timestamp", int(bad.sum()))
    for col in PRICE_COLUMNS[kind]:
        v = df[col].to_numpy(dtype="float64")
        nan = np.isnan(v) & ~bad
        report.drop(f"nan_{col}", int(nan.sum()))
        bad |= nan
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


# ---------------------------------------------------------------------------------------------
# Raw CSV reading with precise errors


def read_member_bytes(path: Path, *, suffix: str = ".csv") -> tuple[bytes, str]:
    """The bytes of a plain file, or of the single ``suffix`` member of a zip archive.

    Returns ``(data, origin)`` where origin names the file (and archive member) for messages.
    """
    if not path.exists():
        raise DataError("file not found", path=path, fix="check the path")
    if path.suffix.lower() == ".gz":
        try:
            return gzip.decompress(path.read_bytes()), str(path)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"not a readable gzip file ({type(exc).__name__}: {exc})",
                path=path,
                fix="the file is truncated or corrupt; download or copy it again",
            ) from None
    if path.suffix.lower() != ".zip":
        return path.read_bytes(), str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            members = [n for n in zf.namelist() if n.lower().endswith(suffix)]
            if len(members) != 1:
                raise DataError(
                    f"expected exactly one {suffix} file inside the archive, found {members}",
                    path=path,
                    fix="pass an archive with a single data file, or extract it and pass the file",
                )
            return zf.read(members[0]), f"{path}!{members[0]}"
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise DataError(
            f"not a readable zip archive ({type(exc).__name__}: {exc})",
            path=path,
            fix="the file is truncated or corrupt; download or copy it again",
        ) from None


def read_numeric_csv(
    data: bytes,
    origin: str,
    columns: Sequence[tuple[str, str]],
    *,
    header: bool = False,
) -> pd.DataFrame:
    """Parse a headerless (or headed) CSV whose columns are ``(name, kind)``, kind in {num, str}.

    The fast path is pandas' C parser. If it fails, or fields are missing, a line-by-line scan
    finds the first bad line and raises a :class:`DataError` naming the line and the value.
    """
    names = [n for n, _ in columns]
    dtypes = {n: ("float64" if k == "num" else "string") for n, k in columns}
    if not data.strip():
        return pd.DataFrame({n: pd.Series(dtype=t) for n, t in dtypes.items()})
    try:
        df = pd.read_csv(
            io.BytesIO(data),
            header=0 if header else None,
            names=names,
            dtype=dtypes,  # type: ignore[arg-type]
            keep_default_na=True,
            na_filter=True,
            engine="c",
        )
    except (ValueError, pd.errors.ParserError):
        _raise_first_bad_line(data, origin, columns, header)
        raise  # a parser failure the scan could not explain: surface it unchanged
    # Too few fields parse as NaN silently: find them and explain.
    if df.isna().any().any():
        # Only spelled-out NaN ("nan", "NA") survive the scan; the caller's value checks count them.
        _raise_first_bad_line(data, origin, columns, header)
    return df


def _raise_first_bad_line(
    data: bytes,
    origin: str,
    columns: Sequence[tuple[str, str]],
    header: bool,
) -> None:
    """Scan lines for the first one with a wrong field count or a non-numeric value; raise."""
    n = len(columns)
    text = data.decode("utf-8", errors="replace")
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if header and lineno == 1:
            continue
        if not raw.strip():
            raise DataError(
                "empty line inside the data",
                path=origin,
                line=lineno,
                fix="remove blank lines, or re-export the file",
            )
        fields = raw.split(",")
        if len(fields) != n:
            raise DataError(
                f"expected {n} comma-separated fields ({', '.join(c for c, _ in columns)}), "
                f"found {len(fields)}",
                path=origin,
                line=lineno,
                value=raw[:120],
                fix="the line is malformed or the file is truncated; fix or re-download the file",
            )
        for (name, kind), value in zip(columns, fields, strict=True):
            v = value.strip()
            if kind == "num":
                if v == "":
                    raise DataError(
                        f"column {name!r} is empty",
                        path=origin,
                        line=lineno,
                        value=raw[:120],
                        fix="fill the value or remove the line",
                    )
                try:
                    float(v)
                except ValueError:
                    raise DataError(
                        f"column {name!r} is not a number",
                        path=origin,
                        line=lineno,
                        value=v,
                        fix="fix the value or remove the line",
                    ) from None


# ---------------------------------------------------------------------------------------------
# Exchange-local times

EXCHANGE_TZ = "America/New_York"


def parse_day(day: str | pd.Timestamp | Any) -> pd.Timestamp:
    """A trading day as a naive midnight timestamp; accepts ``20131007``, ``2013-10-07``, dates."""
    try:
        ts = pd.Timestamp(str(day)) if isinstance(day, int) else pd.Timestamp(day)
    except (ValueError, TypeError):
        raise DataError(
            "not a day", value=day, fix="write days as YYYYMMDD or YYYY-MM-DD"
        ) from None
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def local_time_of_day_to_utc(
    day: pd.Timestamp, ns_after_midnight: np.ndarray, tz: str = EXCHANGE_TZ
) -> pd.Series[Any]:
    """UTC timestamps of wall-clock times of day (ns after local midnight) on ``day`` in ``tz``.

    Vendors write times of day on the exchange's wall clock. On days without a daylight-saving
    switch the UTC offset is one constant (fast path); on switch days every value is localized.
    """
    base = parse_day(day)
    ns = np.asarray(ns_after_midnight, dtype="int64")
    first = base.tz_localize(tz)
    last = (base + pd.Timedelta(hours=23, minutes=59)).tz_localize(tz)
    if first.utcoffset() == last.utcoffset():
        offset = first.utcoffset()
        assert offset is not None
        utc_ns = base.value - int(offset.total_seconds() * 1e9) + ns
        return pd.Series(pd.to_datetime(utc_ns, unit="ns", utc=True))
    naive = pd.to_datetime(base.value + ns, unit="ns")
    local = pd.Series(naive).dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    return local.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
