"""Trades and quotes for the API: from a DuckDB store, or from the user's own DataFrames."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ash.jobs.replay import read_store_ticks, utc_timestamp


def as_pandas(frame: Any, name: str) -> pd.DataFrame | None:
    """A pandas DataFrame from pandas or polars (anything with ``to_pandas``); None stays None."""
    if frame is None or isinstance(frame, pd.DataFrame):
        return frame
    to_pandas = getattr(frame, "to_pandas", None)
    if callable(to_pandas):
        converted = to_pandas()
        if isinstance(converted, pd.DataFrame):
            return converted
    raise TypeError(
        f"{name} must be a pandas or polars DataFrame with canonical columns "
        f"(docs/data.md), got {type(frame).__name__}"
    )


def read_ticks(
    db: str | Path, symbol: str, start: str | pd.Timestamp, end: str | pd.Timestamp
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """``(trades, quotes)`` of one symbol in ``[start, end)`` (UTC unless zoned) from a store
    made by ``ash data import``; None for a kind the store does not hold."""
    return read_store_ticks(Path(db), symbol, utc_timestamp(start), utc_timestamp(end))
