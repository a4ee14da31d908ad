"""The arrival-ordered event stream of one symbol: what the bar builder (and Rust) consumes.

Trades, quotes and option-surface updates are held in one stream of N events with a ``kind`` code
and four generic float fields whose meaning depends on the kind:

==========  ========  ========  ==========  ==========
kind        x0        x1        x2          x3
==========  ========  ========  ==========  ==========
TRADE (0)   price     size      side        (unused)
QUOTE (1)   bid       ask       bid_size    ask_size
SURFACE (2) (unused)  (unused)  (unused)    (unused)
==========  ========  ========  ==========  ==========

Surface updates carry their OPTION_COLUMNS values in ``surface``: row k belongs to the k-th
SURFACE event of the stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from ash.bars.columns import OPTION_COLUMNS

TRADE: Final[int] = 0
QUOTE: Final[int] = 1
SURFACE: Final[int] = 2
KIND_NAMES: Final[dict[int, str]] = {TRADE: "trade", QUOTE: "quote", SURFACE: "surface"}
# Tie-break for events of different feeds with the same timestamp: state updates first, so a trade
# is classified against the quote stamped at the same instant.
_TIE_PRIORITY: Final[dict[int, int]] = {SURFACE: 0, QUOTE: 1, TRADE: 2}
NAT: Final[int] = np.iinfo(np.int64).min

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]

TRADE_FIELDS: Final[tuple[str, ...]] = ("price", "size", "side")
QUOTE_FIELDS: Final[tuple[str, ...]] = ("bid", "ask", "bid_size", "ask_size")


@dataclass(frozen=True)
class EventStream:
    """N events of one symbol in arrival order (see the module docstring for field meanings)."""

    kind: I8
    ts_ns: I64  # UTC nanoseconds; NAT marks a missing timestamp
    x0: F64
    x1: F64
    x2: F64
    x3: F64
    surface: F64  # [number of SURFACE events, len(OPTION_COLUMNS)]

    def __post_init__(self) -> None:
        n = len(self.kind)
        for name in ("ts_ns", "x0", "x1", "x2", "x3"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"EventStream.{name} has {len(getattr(self, name))} rows, not {n}")
        n_surface = int(np.count_nonzero(self.kind == SURFACE))
        if self.surface.shape != (n_surface, len(OPTION_COLUMNS)):
            raise ValueError(
                f"EventStream.surface has shape {self.surface.shape}; expected "
                f"({n_surface}, {len(OPTION_COLUMNS)}): one row of OPTION_COLUMNS per SURFACE event"
            )

    def __len__(self) -> int:
        return len(self.kind)

    @classmethod
    def trades_only(cls, ts_ns: I64, price: F64, size: F64, side: F64 | None = None) -> EventStream:
        """A stream of trades only, in the given (arrival) order; no copies of the arrays."""
        n = len(ts_ns)
        nan = np.full(n, np.nan)
        return cls(
            kind=np.zeros(n, dtype=np.int8),
            ts_ns=np.asarray(ts_ns, dtype=np.int64),
            x0=np.asarray(price, dtype=np.float64),
            x1=np.asarray(size, dtype=np.float64),
            x2=np.zeros(n) if side is None else np.asarray(side, dtype=np.float64),
            x3=nan,
            surface=np.empty((0, len(OPTION_COLUMNS))),
        )


def merge_feeds(
    trades: tuple[I64, F64, F64, F64] | None,
    quotes: tuple[I64, F64, F64, F64, F64] | None,
    surface: tuple[I64, F64] | None,
) -> EventStream:
    """Merge per-feed arrays (each in its own arrival order) into one arrival-ordered stream.

    A row "arrives" at the largest timestamp its feed has shown so far (a late row arrives right
    after its predecessor), so each feed keeps its own order and sorted feeds merge by timestamp.
    Ties: surface updates, then quotes, then trades; then the original order within the feed.
    """
    parts: list[tuple[int, I64, list[F64]]] = []
    if trades is not None:
        ts, price, size, side = trades
        parts.append((TRADE, ts, [price, size, side, np.full(len(ts), np.nan)]))
    if quotes is not None:
        ts, bid, ask, bid_size, ask_size = quotes
        parts.append((QUOTE, ts, [bid, ask, bid_size, ask_size]))
    surface_values = np.empty((0, len(OPTION_COLUMNS)))
    if surface is not None:
        ts, surface_values = surface
        nan = np.full(len(ts), np.nan)
        parts.append((SURFACE, ts, [nan, nan, nan, nan]))
    if not parts:
        raise ValueError("merge_feeds needs at least one of trades, quotes or surface")

    arrivals = [_arrival_key(np.asarray(ts, dtype=np.int64)) for _, ts, _ in parts]
    total = sum(len(a) for a in arrivals)
    # Each feed's arrival keys are non-decreasing, so a row's merged position is its index in
    # its feed plus the rows of the other feeds that come before it (fewer than a full sort).
    dest = []
    for i, (kind_i, _, _) in enumerate(parts):
        position = np.arange(len(arrivals[i]), dtype=np.int64)
        for j, (kind_j, _, _) in enumerate(parts):
            if j != i:
                first = _TIE_PRIORITY[kind_j] < _TIE_PRIORITY[kind_i]
                position += np.searchsorted(
                    arrivals[j], arrivals[i], side="right" if first else "left"
                )
        dest.append(position)
    kinds = np.empty(total, dtype=np.int8)
    ts_all = np.empty(total, dtype=np.int64)
    fields = [np.empty(total) for _ in range(4)]
    for (kind_i, ts, f), position in zip(parts, dest, strict=True):
        kinds[position] = kind_i
        ts_all[position] = ts
        for k in range(4):
            fields[k][position] = f[k]
    surface_rows = np.asarray(surface_values, dtype=np.float64).reshape(-1, len(OPTION_COLUMNS))
    return EventStream(
        kind=kinds,
        ts_ns=ts_all,
        x0=fields[0],
        x1=fields[1],
        x2=fields[2],
        x3=fields[3],
        surface=surface_rows,  # surface rows keep their feed order, which merging preserves
    )


def _arrival_key(ts: I64) -> I64:
    # NaT (int64 min) never advances the feed clock; it arrives with its predecessor.
    return np.maximum.accumulate(ts) if len(ts) else ts


def frame_ts_ns(frame: pd.DataFrame, what: str) -> I64:
    """The ``ts`` column of a canonical frame as UTC int64 nanoseconds (NaT -> NAT)."""
    if "ts" not in frame.columns:
        raise ValueError(f"{what} frame has no 'ts' column; columns: {list(frame.columns)}")
    col = frame["ts"]
    if not isinstance(col.dtype, pd.DatetimeTZDtype):
        raise ValueError(
            f"{what}.ts must be tz-aware datetime64 (canonical schema: datetime64[ns, UTC]); "
            f"got {col.dtype}. Localize it first, e.g. ts.dt.tz_localize('UTC')."
        )
    values = col.dt.tz_convert("UTC").dt.as_unit("ns")
    return np.asarray(values.array.asi8, dtype=np.int64)


def frame_fields(frame: pd.DataFrame, names: tuple[str, ...], what: str) -> list[F64]:
    """Float64 copies of the named columns, with an error naming any missing one."""
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} frame lacks columns {missing}; canonical columns are {list(names)} "
            f"(see ash.data.schema); got {list(frame.columns)}"
        )
    return [np.asarray(frame[c].to_numpy(dtype=np.float64, na_value=np.nan)) for c in names]


def check_single_symbol(frame: pd.DataFrame, column: str, what: str) -> str | None:
    """The one symbol of a frame (None if it has no symbol column); error if several."""
    if column not in frame.columns or len(frame) == 0:
        return None
    symbols = pd.unique(frame[column].dropna())
    if len(symbols) > 1:
        raise ValueError(
            f"{what} frame holds {len(symbols)} symbols ({list(symbols[:5])}...); build bars one "
            "symbol at a time and stack them with ash.pipeline.stack_bars"
        )
    return str(symbols[0]) if len(symbols) else None
