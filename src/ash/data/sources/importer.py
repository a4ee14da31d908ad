"""``ash data import``: load vendor or canonical files into a DuckDB store
(:class:`~ash.data.sources.store.DuckDBStore`).

Formats: ``lean`` (zip files or a folder), ``lobster`` (a message file or a folder of pairs) and
canonical ``trades`` / ``quotes`` / ``options`` CSV (header row with the canonical column names;
``.csv``, ``.csv.gz`` or a ``.zip`` holding one CSV) or Parquet (copied, or with ``in_place``
registered as a view that reads the file where it lies).

Idempotent: every file is identified by the SHA-256 of its content (plus symbol and day for
vendor files, whose names carry them); a file (or LOBSTER pair) already recorded in
``ash_imports`` for a table is skipped, so re-importing adds nothing. Each file is written in its
own transaction: a bad file leaves nothing of itself behind. Data for
a symbol that overlaps in time with data imported from a *different* file is refused unless
``allow_overlap`` (the same events twice would double every volume).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ash.data.schema import SCHEMAS
from ash.data.sources.canonical import clean, to_canonical
from ash.data.sources.lean import LeanFile, find_lean_files, load_lean_quotes, load_lean_trades
from ash.data.sources.lobster import LobsterPair, find_lobster_pairs, load_lobster_day
from ash.data.sources.report import DataError, ImportReport
from ash.data.sources.store import DuckDBStore
from ash.data.sources.vendor_files import read_member_bytes, read_numeric_csv
from ash.interfaces import EventKind

ImportFormat = Literal["trades", "quotes", "options", "lean", "lobster"]
FORMATS: tuple[ImportFormat, ...] = ("trades", "quotes", "options", "lean", "lobster")
TEXT_COLUMNS = {"ts", "symbol", "underlying", "right", "expiry"}
Status = Literal["imported", "skipped", "registered", "ignored"]


@dataclass
class ImportResult:
    """The outcome for one file (or LOBSTER pair) and one table."""

    path: str
    kind: str
    status: Status
    rows: int = 0
    report: ImportReport | None = None
    note: str = ""

    def line(self) -> str:
        text = f"{self.status:<10} {self.kind:<7} {self.rows:>10,} rows  {self.path}"
        if self.report is not None and (self.report.dropped or self.report.repaired):
            text += f"\n           {self.report.summary()}"
        if self.note:
            text += f"\n           {self.note}"
        return text


@dataclass
class _Unit:
    """One thing to import: a label for the progress bar, a hash, the tables it fills, a loader."""

    label: str
    file_hash: str
    kinds: tuple[str, ...]
    load: Callable[[], dict[str, tuple[pd.DataFrame, ImportReport]]]
    halts: dict[str, pd.DataFrame] = field(default_factory=dict)


def file_sha256(*paths: Path) -> str:
    """Content hash of one or more files (streamed, so large files are fine)."""
    h = hashlib.sha256()
    for p in paths:
        with p.open("rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
    return h.hexdigest()


def import_path(
    db: str | Path | DuckDBStore,
    fmt: ImportFormat,
    path: str | Path,
    *,
    symbol: str | None = None,
    days: Sequence[str] | None = None,
    in_place: bool = False,
    allow_overlap: bool = False,
    progress: bool = True,
    console: Console | None = None,
) -> list[ImportResult]:
    """Import every file of format ``fmt`` at ``path`` into the store ``db``; see module doc."""
    if fmt not in FORMATS:
        raise DataError(f"unknown import format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")
    src = Path(path)
    if not src.exists():
        raise DataError("path not found", path=src, fix="check the path")
    own = not isinstance(db, DuckDBStore)
    store = DuckDBStore(db) if not isinstance(db, DuckDBStore) else db
    try:
        if in_place:
            if fmt not in ("trades", "quotes", "options"):
                raise DataError(
                    f"--in-place works for canonical Parquet, not {fmt!r} files",
                    fix="drop --in-place to copy vendor files into the store",
                )
            return [_register(store, fmt, p) for p in _canonical_files(src, {".parquet"})]
        units = _units(fmt, src, symbol, days)
        return _run(store, units, allow_overlap, progress, console)
    finally:
        if own:
            store.close()


def _run(
    store: DuckDBStore,
    units: list[_Unit],
    allow_overlap: bool,
    progress: bool,
    console: Console | None,
) -> list[ImportResult]:
    results: list[ImportResult] = []
    columns = (
        TextColumn("[bold]import[/bold] {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} files"),
        TimeElapsedColumn(),
    )
    with Progress(
        *columns, console=console or Console(stderr=True), disable=not progress, transient=True
    ) as bar:
        task = bar.add_task("", total=len(units))
        for unit in units:
            bar.update(task, description=unit.label)
            pending = [k for k in unit.kinds if not store.already_imported(unit.file_hash, k)]
            for k in unit.kinds:
                if k not in pending:
                    results.append(ImportResult(unit.label, k, "skipped", note="already imported"))
            if pending:
                loaded = unit.load()
                for kind in pending:
                    df, report = loaded[kind]
                    ek: EventKind = kind  # type: ignore[assignment]
                    if not allow_overlap and len(df):
                        store.check_overlap(ek, df, unit.label)
                    store.insert(
                        ek,
                        df,
                        file_hash=unit.file_hash,
                        path=unit.label,
                        report=report,
                        halts=unit.halts.get(kind),
                    )
                    results.append(ImportResult(unit.label, kind, "imported", len(df), report))
            bar.advance(task)
    return results


Loaded = dict[str, tuple[pd.DataFrame, ImportReport]]


def _load_lean(f: LeanFile) -> Loaded:
    rep = ImportReport(str(f.path))
    if f.what == "trade":
        return {"trades": (load_lean_trades(f.path, f.symbol, f.day, rep), rep)}
    return {"quotes": (load_lean_quotes(f.path, f.symbol, f.day, rep), rep)}


def _load_lobster(pair: LobsterPair, halts: dict[str, pd.DataFrame]) -> Loaded:
    d = load_lobster_day(pair.message, pair.orderbook, pair.symbol, pair.day)
    halts["trades"] = d.halts  # stored with the trades, in the same transaction
    return {"trades": (d.trades, d.trades_report), "quotes": (d.quotes, d.quotes_report)}


def _load_canonical(path: Path, kind: EventKind) -> Loaded:
    rep = ImportReport(str(path))
    raw = (
        read_canonical_parquet(path)
        if path.suffix == ".parquet"
        else read_canonical_csv(path, kind)
    )
    return {kind: (clean(to_canonical(raw, kind, origin=str(path)), kind, rep), rep)}


def _units(
    fmt: ImportFormat, src: Path, symbol: str | None, days: Sequence[str] | None
) -> list[_Unit]:
    units: list[_Unit] = []
    if fmt == "lean":
        for f in find_lean_files(src, symbol, days):
            if f.what not in ("trade", "quote_second"):
                continue  # trade bars and tick quotes are not imported (see docs/data.md)
            kind = "trades" if f.what == "trade" else "quotes"
            # The day and symbol come from the file name, so they are part of the identity.
            key = f"lean:{f.symbol}:{f.day:%Y%m%d}:{file_sha256(f.path)}"
            units.append(_Unit(str(f.path), key, (kind,), partial(_load_lean, f)))
    elif fmt == "lobster":
        for pair in find_lobster_pairs(src, symbol):
            halts: dict[str, pd.DataFrame] = {}
            units.append(
                _Unit(
                    str(pair.message),
                    f"lobster:{pair.symbol}:{pair.day:%Y%m%d}:"
                    f"{file_sha256(pair.message, pair.orderbook)}",
                    ("trades", "quotes"),
                    partial(_load_lobster, pair, halts),
                    halts,
                )
            )
    else:
        for p in _canonical_files(src, {".csv", ".gz", ".zip", ".parquet"}):
            units.append(_Unit(str(p), file_sha256(p), (fmt,), partial(_load_canonical, p, fmt)))
    return units


def _canonical_files(src: Path, suffixes: set[str]) -> list[Path]:
    if src.is_file():
        if src.suffix.lower() not in suffixes:
            raise DataError(
                f"unsupported file type {src.suffix!r}",
                path=src,
                fix=f"pass one of {', '.join(sorted(suffixes))}",
            )
        return [src]
    files = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise DataError(
            f"no {'/'.join(sorted(suffixes))} files found", path=src, fix="check the path"
        )
    return files


def read_canonical_csv(path: Path, kind: EventKind) -> pd.DataFrame:
    """A canonical CSV (header row of column names) with precise errors for malformed lines."""
    data, origin = read_member_bytes(path)
    header = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()
    names = [h.strip() for h in header.split(",")]
    known = set(SCHEMAS[kind])
    if not known.intersection(names):
        raise DataError(
            f"the first line is not a header of canonical {kind} columns",
            path=origin,
            line=1,
            value=header[:120],
            fix=f"start the file with a header such as {','.join(SCHEMAS[kind])}",
        )
    columns = [(n, "str" if n in TEXT_COLUMNS or n not in known else "num") for n in names]
    df = read_numeric_csv(data, origin, columns, header=True)
    for col in ("ts", "expiry"):
        if col in df.columns:
            df[col] = _parse_times(df[col], col, origin)
    return df


def _parse_times(s: pd.Series, col: str, origin: str) -> pd.Series:  # type: ignore[type-arg]
    parsed = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
    bad = parsed.isna() & s.notna()
    if bad.any() or s.isna().any():
        i = int((bad | s.isna()).to_numpy().nonzero()[0][0])
        raise DataError(
            f"column {col!r} is not an ISO-8601 timestamp",
            path=origin,
            line=i + 2,  # 1-based, after the header
            value=None if pd.isna(s.iloc[i]) else s.iloc[i],
            fix="write timestamps like 2013-10-07T13:30:00.123456789Z",
        )
    return parsed.astype("datetime64[ns, UTC]")


def read_canonical_parquet(path: Path) -> pd.DataFrame:
    """A canonical Parquet file, read by DuckDB (no pyarrow needed)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        return con.execute("SELECT * FROM read_parquet(?)", [str(path)]).df()
    except duckdb.Error as exc:
        raise DataError(
            f"not a readable Parquet file ({exc})",
            path=path,
            fix="the file is truncated or not Parquet; write it again",
        ) from None
    finally:
        con.close()


def _register(store: DuckDBStore, kind: EventKind, path: Path) -> ImportResult:
    h = file_sha256(path)
    if store.already_imported(h, kind):
        return ImportResult(str(path), kind, "skipped", note="already registered")
    rows = store.register_parquet(kind, path, h)
    return ImportResult(str(path), kind, "registered", rows, note="read in place (view)")
