"""Splits named by session dates, as a quant writes them, and day-wise walk-forward folds.

A part (train, val, test) is a list of entries in the bars' local timezone:

- ``"2013-10-07"``: one session date;
- ``"2013-10-07..2013-10-08"``: every date of an inclusive range;
- ``"2013-10-08 14:30..2013-10-08 16:00"`` or ``"2013-10-08 14:30..16:00"``: a time range
  (start inclusive, end exclusive), e.g. the last 90 minutes of a day for validation.

A sample belongs to the part whose entries contain its end bar; where entries of several parts
overlap, test takes precedence over val over train (so "train 10-07..10-08, val the afternoon of
10-08" needs no carving). The purge is applied at every boundary, in any order of the parts: a
sample of a lower-precedence part is dropped when the bars it reads or targets (window start to
last target bar, padded by the extra purge and embargo) touch those of a higher-precedence
sample. An entry that holds no sample is an error naming it and the dates that do hold samples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

I64 = npt.NDArray[np.int64]
PARTS = ("train", "val", "test")  # lowest precedence first
_TIME_ONLY = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DateSplitConfig(BaseModel):
    """``split.dates``: session dates or ranges of each part (see :mod:`ash.data.date_splits`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    train: list[str] = Field(min_length=1, description="Training dates / ranges.")
    val: list[str] = Field(
        default_factory=list, description="Validation (early stopping, calibration) dates / ranges."
    )
    test: list[str] = Field(min_length=1, description="Test dates / ranges.")

    @field_validator("train", "val", "test")
    @classmethod
    def _parseable(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            parse_entry(entry, "UTC")  # raises with the entry named
        return entries


@dataclass(frozen=True)
class Interval:
    """``[start, end)`` in UTC ns, with the entry it came from."""

    start: int
    end: int
    entry: str


def parse_entry(entry: str, timezone: str) -> Interval:
    """One entry (date, date range or time range, local ``timezone``) → a UTC interval."""
    text = entry.strip()
    left, sep, right = text.partition("..")
    try:
        if not sep:
            if not _DATE_ONLY.match(left):
                raise ValueError("expected YYYY-MM-DD")
            lo = pd.Timestamp(left)
            hi = lo + pd.Timedelta(days=1)
        elif _DATE_ONLY.match(left.strip()) and _DATE_ONLY.match(right.strip()):
            lo = pd.Timestamp(left.strip())
            hi = pd.Timestamp(right.strip()) + pd.Timedelta(days=1)
        else:
            lo = pd.Timestamp(left.strip())
            right = right.strip()
            hi = (
                pd.Timestamp(f"{lo.date()} {right}")
                if _TIME_ONLY.match(right)
                else pd.Timestamp(right)
            )
    except ValueError as exc:
        raise ValueError(
            f"split date entry {entry!r} is not a date, a date range or a time range "
            f"({exc}); write e.g. '2013-10-07', '2013-10-07..2013-10-08' or "
            "'2013-10-08 14:30..16:00'"
        ) from None
    if lo.tzinfo is not None or hi.tzinfo is not None:
        raise ValueError(
            f"split date entry {entry!r} carries a timezone; entries are local times of "
            "bars.timezone"
        )
    if hi <= lo:
        raise ValueError(f"split date entry {entry!r} is empty: its end is not after its start")
    start = lo.tz_localize(timezone).tz_convert("UTC").value
    end = hi.tz_localize(timezone).tz_convert("UTC").value
    return Interval(int(start), int(end), entry)


def session_dates(end_ts: I64, timezone: str) -> npt.NDArray[np.str_]:
    """The local date (``YYYY-MM-DD``) of each timestamp."""
    local = pd.to_datetime(np.asarray(end_ts, dtype=np.int64), utc=True).tz_convert(timezone)
    return np.asarray(local.strftime("%Y-%m-%d"), dtype=str)


def assign_parts(end_ts: I64, config: DateSplitConfig, timezone: str) -> I64:
    """Part id per sample (0 train, 1 val, 2 test, −1 none), the highest precedence winning."""
    part = np.full(len(end_ts), -1, dtype=np.int64)
    dates: npt.NDArray[np.str_] | None = None
    for pid, name in enumerate(PARTS):
        for entry in getattr(config, name):
            iv = parse_entry(entry, timezone)
            inside = (end_ts >= iv.start) & (end_ts < iv.end)
            if not inside.any():
                if dates is None:
                    dates = session_dates(end_ts, timezone)
                have = ", ".join(np.unique(dates)) or "none"
                raise ValueError(
                    f"split.dates.{name} entry {entry!r} holds no sample; the data has samples "
                    f"on {have} ({timezone}); check the entry or data.start/end"
                )
            part[inside] = pid
    return part


def purge_lower(part: I64, first_ts: I64, last_ts: I64, pad_ns: int) -> npt.NDArray[np.bool_]:
    """Keep-mask: drop each sample whose read/target span ``[first, last]`` touches the span of
    a sample in a higher-precedence part (padded by ``pad_ns`` on both sides)."""
    keep = part >= 0
    for pid in range(int(part.max(initial=-1)) + 1):
        higher = part > pid
        if not higher.any():
            continue
        starts, ends = _merged(first_ts[higher] - pad_ns, last_ts[higher] + pad_ns)
        mine = np.flatnonzero(part == pid)
        idx = np.searchsorted(starts, last_ts[mine], side="right") - 1
        touches = (idx >= 0) & (ends[np.maximum(idx, 0)] >= first_ts[mine])
        keep[mine[touches]] = False
    return keep


def _merged(starts: I64, ends: I64) -> tuple[I64, I64]:
    """Union of closed intervals as sorted, disjoint ``(starts, ends)``."""
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], np.maximum.accumulate(ends[order])
    new = np.r_[True, s[1:] > e[:-1]]
    group_end = np.r_[np.flatnonzero(new)[1:] - 1, len(s) - 1]
    return s[new], e[group_end]


def day_folds(
    dates: npt.NDArray[np.str_], n_folds: int, rolling_days: int | None
) -> list[tuple[list[str], str]]:
    """Day-wise walk-forward: fold k tests on one of the last ``n_folds`` dates and trains on
    every earlier date (or the ``rolling_days`` before it). Returns ``(train dates, test date)``."""
    days = sorted(set(dates.tolist()))
    if len(days) < n_folds + 1:
        raise ValueError(
            f"day-wise walk-forward with {n_folds} folds needs at least {n_folds + 1} session "
            f"dates with samples; the data has {len(days)}: {', '.join(days)}"
        )
    folds = []
    for k in range(len(days) - n_folds, len(days)):
        lo = 0 if rolling_days is None else max(0, k - rolling_days)
        folds.append((days[lo:k], days[k]))
    return folds
