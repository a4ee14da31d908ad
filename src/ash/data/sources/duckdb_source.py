"""The ``duckdb`` source: reads canonical events from a store made by ``ash data import``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

import pandas as pd
from pydantic import Field

from ash.data.sources.canonical import empty_frame
from ash.data.sources.report import DataError
from ash.data.sources.store import EVENT_KINDS, DuckDBStore
from ash.interfaces import ComponentConfig, EventKind, Source


class DuckDBConfig(ComponentConfig):
    path: str = Field(
        "data/ash.duckdb",
        description="The DuckDB database file written by `ash data import`.",
    )


class DuckDBSource(Source[DuckDBConfig]):
    """Canonical trades/quotes/options from a DuckDB file; filters are pushed down to DuckDB."""

    name: ClassVar[str] = "duckdb"

    def __init__(self, config: DuckDBConfig) -> None:
        super().__init__(config)
        # Read-only: several training processes may read one store at the same time.
        self.store = DuckDBStore(self.config.path, read_only=True)
        if not any(self.store.has(k) for k in EVENT_KINDS):
            self.store.close()
            raise DataError(
                "the DuckDB database has no trades, quotes or options table",
                path=self.config.path,
                fix="import data into it with `ash data import`",
            )

    def event_kinds(self) -> frozenset[EventKind]:
        return frozenset(k for k in EVENT_KINDS if self.store.has(k) and self.store.count(k) > 0)

    def symbols(self) -> list[str]:
        return self.store.symbols()

    def read(
        self,
        kind: EventKind,
        symbols: Sequence[str],
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        chunk_rows: int = 1_000_000,
    ) -> Iterator[pd.DataFrame]:
        yielded = False
        for chunk in self.store.read(kind, list(symbols) or None, start, end, chunk_rows):
            yielded = True
            yield chunk
        if not yielded:
            yield empty_frame(kind)

    def close(self) -> None:
        self.store.close()
