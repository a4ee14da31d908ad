"""Reading vendor files: archives (streamed, with a decompression limit), headerless CSV with
precise errors, and exchange-local times of day (docs/data.md, "Bad data policy").
"""

from __future__ import annotations

import gzip
import io
import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ash.data.sources.report import DataError, ImportReport

# ---------------------------------------------------------------------------------------------
# Archives: streamed, never inflated past a limit

CHUNK_BYTES = 1 << 20
MB = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    """How far a compressed file may inflate before it is refused (a zip bomb is an error, not
    18 s and 2.8 GB of memory). The limit is ``max(floor, ratio x compressed size)``, capped at
    ``max_bytes``; market-data CSV compresses about 10:1. Environment overrides:
    ``ASH_MAX_DECOMPRESSED_MB`` and ``ASH_MAX_COMPRESSION_RATIO``."""

    max_bytes: int = 4096 * MB
    max_ratio: float = 100.0
    floor_bytes: int = 64 * MB

    @classmethod
    def from_env(cls) -> ArchiveLimits:
        """The defaults, with the environment's overrides."""
        mb = _env_number("ASH_MAX_DECOMPRESSED_MB")
        ratio = _env_number("ASH_MAX_COMPRESSION_RATIO")
        return cls(
            max_bytes=int(mb * MB) if mb is not None else cls.max_bytes,
            max_ratio=ratio if ratio is not None else cls.max_ratio,
        )

    def allowed(self, compressed_bytes: int) -> int:
        """Most bytes a file of ``compressed_bytes`` may decompress to."""
        return int(min(self.max_bytes, max(self.floor_bytes, self.max_ratio * compressed_bytes)))


def _env_number(name: str) -> float | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise DataError(f"{name}={raw!r} is not a positive number", fix=f"unset {name} or fix it")
    return value


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _read_limited(stream: _Readable, limit: int, origin: str, compressed: int) -> bytes:
    """Read ``stream`` to its end in chunks; refuse before holding more than ``limit`` bytes."""
    parts: list[bytes] = []
    total = 0
    while chunk := stream.read(CHUNK_BYTES):
        total += len(chunk)
        if total > limit:
            raise DataError(
                f"decompresses to more than {limit:,} bytes ({compressed:,} bytes compressed); "
                "refused as a possible zip bomb",
                path=origin,
                fix="check the file; if it is genuine, raise ASH_MAX_DECOMPRESSED_MB / "
                "ASH_MAX_COMPRESSION_RATIO or extract it and pass the plain file",
            )
        parts.append(chunk)
    return b"".join(parts)


def read_member_bytes(
    path: Path, *, suffix: str = ".csv", limits: ArchiveLimits | None = None
) -> tuple[bytes, str]:
    """The bytes of a plain file, or of the single ``suffix`` member of a zip or gzip archive.

    Archives are decompressed in chunks and refused as soon as they pass the limit
    (:class:`ArchiveLimits`). Returns ``(data, origin)`` where origin names the file (and
    archive member) for messages.
    """
    if not path.exists():
        raise DataError("file not found", path=path, fix="check the path")
    limits = limits or ArchiveLimits.from_env()
    compressed = path.stat().st_size
    if path.suffix.lower() == ".gz":
        try:
            with gzip.open(path, "rb") as stream:
                data = _read_limited(stream, limits.allowed(compressed), str(path), compressed)
            return data, str(path)
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
            origin = f"{path}!{members[0]}"
            with zf.open(members[0]) as stream:
                return _read_limited(stream, limits.allowed(compressed), origin, compressed), origin
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise DataError(
            f"not a readable zip archive ({type(exc).__name__}: {exc})",
            path=path,
            fix="the file is truncated or corrupt; download or copy it again",
        ) from None


# ---------------------------------------------------------------------------------------------
# Raw CSV reading with precise errors


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


DAY_NS = 86_400 * 1_000_000_000


def keep_within_day(ns_after_midnight: np.ndarray, report: ImportReport) -> np.ndarray:
    """Mask of times of day inside the file's own day, ``[0, 24 h)``; the rest are dropped and
    counted as ``time_outside_file_day`` (a millisecond field of 999999999 would otherwise land
    on another date, and -5000 on the day before)."""
    ns = np.asarray(ns_after_midnight)
    keep = (ns >= 0) & (ns < DAY_NS)
    report.drop("time_outside_file_day", int((~keep).sum()))
    return np.asarray(keep)
