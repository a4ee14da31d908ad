"""Local-day arithmetic for the bar grid: UTC instants of local midnights and session windows.

Only a handful of calendar days are ever converted with pandas; events are then placed with
``np.searchsorted`` so the per-event cost stays O(log days).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ash.bars.events import I64
from ash.bars.spec import BarSpec

_DAY_NS = 86_400 * 1_000_000_000


@dataclass(frozen=True)
class LocalDays:
    """Consecutive local calendar days covering a time range."""

    starts: I64  # UTC ns of local midnight for each day, plus one trailing day end
    session_open: I64 | None  # UTC ns of the session window per day (None: no window)
    session_close: I64 | None

    def day_of(self, ts_ns: I64) -> I64:
        """Index of the local day containing each timestamp."""
        return np.searchsorted(self.starts, ts_ns, side="right").astype(np.int64) - 1


def local_days(spec: BarSpec, first_ns: int, last_ns: int) -> LocalDays:
    """Local days from the one before ``first_ns`` to the one after ``last_ns`` (UTC ns)."""
    tz = spec.timezone
    first = pd.Timestamp(first_ns, unit="ns", tz="UTC").tz_convert(tz).normalize().tz_localize(None)
    last = pd.Timestamp(last_ns, unit="ns", tz="UTC").tz_convert(tz).normalize().tz_localize(None)
    dates = pd.date_range(first - pd.Timedelta(days=1), last + pd.Timedelta(days=2), freq="D")
    starts = _localize(dates, tz)
    lengths = np.diff(starts)
    bad = lengths % spec.bar_ns != 0
    if bad.any():
        day = dates[int(np.flatnonzero(bad)[0])].date()
        raise ValueError(
            f"local day {day} in {tz} lasts {lengths[bad][0] / 1e9:.0f} s, which bars of "
            f"{spec.seconds} s do not tile; choose a bar length that divides 30 minutes"
        )
    bounds = spec.session_bounds()
    if bounds is None:
        return LocalDays(starts=starts, session_open=None, session_close=None)
    open_t, close_t = bounds
    day_dates = dates[:-1]
    opens = day_dates + pd.Timedelta(hours=open_t.hour, minutes=open_t.minute)
    closes = day_dates + pd.Timedelta(hours=close_t.hour, minutes=close_t.minute)
    return LocalDays(
        starts=starts, session_open=_localize(opens, tz), session_close=_localize(closes, tz)
    )


def _localize(wall_times: pd.DatetimeIndex, tz: str) -> I64:
    # A wall time skipped by a DST jump moves forward; a repeated one takes its first occurrence.
    local = wall_times.tz_localize(
        tz, nonexistent="shift_forward", ambiguous=np.ones(len(wall_times), dtype=bool)
    )
    return np.asarray(local.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)
