"""BarSpec: the configuration of the bar grid (shared verbatim with the Rust runtime)."""

from __future__ import annotations

import re
from datetime import time
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NS_PER_SECOND: Final[int] = 1_000_000_000
# Bars must tile every hour exactly so that each local day (23, 24 or 25 hours) holds whole bars.
_HOUR_NS: Final[int] = 3600 * NS_PER_SECOND
_SESSION_RE: Final = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")

GapPolicy = Literal["reset", "mask"]


class BarSpec(BaseModel):
    """How events become bars. Every field has a default; the defaults give 1 s NY-time bars."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seconds: float = Field(
        1.0,
        gt=0,
        description="Bar length in seconds (e.g. 1.0, 0.1). Must divide one hour exactly in ns.",
    )
    timezone: str = Field(
        "America/New_York",
        description="IANA time zone of the exchange: the grid origin is local midnight there.",
    )
    gap_seconds: float = Field(
        300.0,
        gt=0,
        description="A gap longer than this between consecutive accepted market events starts a "
        "new segment (halts, missing data).",
    )
    session: str | None = Field(
        None,
        description='Local trading window "HH:MM-HH:MM" (e.g. "09:30-16:00"); events outside '
        "are dropped (counted as outside_session) before building. null keeps every event.",
    )
    gap_policy: GapPolicy = Field(
        "reset",
        description="reset: windows and targets never straddle a segment start; mask: windows "
        "may straddle one, but such samples are masked out of loss and metrics.",
    )

    @field_validator("seconds")
    @classmethod
    def _seconds_tile_an_hour(cls, value: float) -> float:
        ns = round(value * NS_PER_SECOND)
        if ns <= 0 or abs(ns - value * NS_PER_SECOND) > 1e-3 or _HOUR_NS % ns != 0:
            raise ValueError(
                f"bar seconds={value!r} must be a whole number of nanoseconds that divides one "
                "hour exactly (e.g. 0.1, 0.25, 1, 5, 60)"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'America/New_York'"
            ) from None
        return value

    @field_validator("session")
    @classmethod
    def _session_window(cls, value: str | None) -> str | None:
        if value is None:
            return None
        bounds = _parse_session(value)
        if bounds[0] >= bounds[1]:
            raise ValueError(f"session {value!r} must end after it starts (same local day)")
        return value

    @model_validator(mode="after")
    def _gap_spans_a_bar(self) -> BarSpec:
        # Two events of one bar can then never be split into two segments (no duplicate bars).
        if self.gap_seconds < self.seconds:
            raise ValueError(
                f"gap_seconds={self.gap_seconds} is shorter than one bar ({self.seconds} s); "
                "use gap_seconds >= seconds"
            )
        return self

    @property
    def bar_ns(self) -> int:
        """Bar length in integer nanoseconds."""
        return round(self.seconds * NS_PER_SECOND)

    @property
    def gap_ns(self) -> int:
        """Gap threshold in integer nanoseconds."""
        return round(self.gap_seconds * NS_PER_SECOND)

    def session_bounds(self) -> tuple[time, time] | None:
        """(start, end) local wall-clock times of the session window, or None for all events."""
        return None if self.session is None else _parse_session(self.session)


def _parse_session(value: str) -> tuple[time, time]:
    match = _SESSION_RE.match(value.strip())
    if match is None:
        raise ValueError(f'session {value!r} must look like "09:30-16:00"')
    h0, m0, h1, m1 = (int(g) for g in match.groups())
    try:
        start = time(h0, m0)
        end = time(h1, m1)
    except ValueError as exc:
        raise ValueError(f"session {value!r}: {exc}") from None
    return start, end
