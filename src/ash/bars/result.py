"""What the bar builder returns: bars of one symbol plus counts of what it accepted and rejected."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from ash.bars.events import F64, I64
from ash.bars.spec import BarSpec

# Every reason an event can be rejected, in the order the checks run (first failing one counts).
REJECT_REASONS: Final[tuple[str, ...]] = (
    "bad_timestamp",  # missing timestamp (NaT)
    "bad_price",  # trade price NaN, inf or <= 0
    "bad_size",  # trade size NaN, inf, <= 0 or > MAX_TRADE_SIZE
    "bad_side",  # trade side not in {-1, 0, +1}
    "bad_quote",  # bid/ask NaN, inf or <= 0, or a quote size NaN, inf or < 0
    "crossed_quote",  # ask < bid
    "outside_session",  # outside BarSpec.session
    "late",  # bar earlier than the latest bar already seen
)


@dataclass(frozen=True)
class BuildStats:
    """Event counts of one build. ``rejected`` has every reason of REJECT_REASONS as a key."""

    events: int
    accepted_trades: int
    accepted_quotes: int
    accepted_surface: int
    rejected: dict[str, int] = field(default_factory=dict)
    # reason -> index (in the event stream) of the first event rejected for it, to find the row
    first_rejected: dict[str, int] = field(default_factory=dict)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "events": self.events,
            "accepted_trades": self.accepted_trades,
            "accepted_quotes": self.accepted_quotes,
            "accepted_surface": self.accepted_surface,
            "rejected": dict(self.rejected),
            "first_rejected": dict(self.first_rejected),
        }


@dataclass(frozen=True)
class Bars:
    """Bars of one symbol on the regular grid.

    ``values[i]`` are the columns of the bar starting at ``ts_ns[i]`` (UTC ns); bars are grouped in
    segments (contiguous runs of the grid) that begin at ``segment_starts``.
    """

    symbol: str
    spec: BarSpec
    columns: tuple[str, ...]
    ts_ns: I64  # [T]
    values: F64  # [T, C] float64
    segment_starts: I64  # [S] bar indices, first is 0 when T > 0
    stats: BuildStats
    has_quotes: bool  # any quote accepted: mid is a quote mid (else mid = close)

    def __len__(self) -> int:
        return len(self.ts_ns)

    def column(self, name: str) -> F64:
        """One column as a [T] view."""
        try:
            return self.values[:, self.columns.index(name)]
        except ValueError:
            raise KeyError(f"no bar column {name!r}; columns: {', '.join(self.columns)}") from None

    @property
    def segment_id(self) -> I64:
        """Segment number of each bar, [T]."""
        ids = np.zeros(len(self.ts_ns), dtype=np.int64)
        if len(self.segment_starts) > 1:
            ids[self.segment_starts[1:]] = 1
        return np.cumsum(ids)

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame indexed by bar start time (UTC), one column per bar column."""
        index = pd.DatetimeIndex(pd.to_datetime(self.ts_ns, unit="ns", utc=True), name="ts")
        return pd.DataFrame(self.values, index=index, columns=list(self.columns))
