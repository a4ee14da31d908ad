"""The ``sql`` source: canonical events from any SQLAlchemy database (PostgreSQL for teams).

Tables hold the canonical columns (docs/data.md); names are configurable. Reads are one
parameterized query per call with the symbol and time filters in the ``WHERE`` clause (so the
server uses its indexes) and ``ORDER BY ts``; rows stream through a server-side cursor and arrive
as frames of ``chunk_rows``. PostgreSQL ``timestamptz`` has microsecond resolution, so events
written through :func:`write_events` lose their nanoseconds (documented limitation).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import pandas as pd
import sqlalchemy as sa
from pydantic import Field

from ash.data.schema import SCHEMAS
from ash.data.sources.canonical import as_utc, empty_frame, to_canonical
from ash.data.sources.report import DataError
from ash.data.sources.store_sql import symbol_column
from ash.interfaces import ComponentConfig, EventKind, Source

EVENT_KINDS: tuple[EventKind, ...] = ("trades", "quotes", "options")
_SQL_TYPES: dict[str, Any] = {
    "datetime64[ns, UTC]": sa.DateTime(timezone=True),
    "string": sa.String(),
    "float64": sa.Float(precision=53),
    "int8": sa.SmallInteger(),
}


def event_table(
    kind: EventKind, name: str | None = None, metadata: sa.MetaData | None = None
) -> sa.Table:
    """The SQLAlchemy table of a canonical event kind (plus ``seq`` for arrival order)."""
    md = metadata or sa.MetaData()
    cols = [sa.Column(c, _SQL_TYPES[t], nullable=c in ("side",)) for c, t in SCHEMAS[kind].items()]
    table = sa.Table(name or kind, md, *cols, sa.Column("seq", sa.BigInteger()))
    sa.Index(f"ix_{table.name}_symbol_ts", table.c[symbol_column(kind)], table.c.ts)
    sa.Index(f"ix_{table.name}_ts", table.c.ts)
    return table


def write_events(
    engine: sa.Engine, kind: EventKind, df: pd.DataFrame, table: str | None = None
) -> int:
    """Create the canonical table if needed and append ``df`` (tests, small loads)."""
    canon = to_canonical(df, kind)
    t = event_table(kind, table)
    t.metadata.create_all(engine)
    with engine.begin() as conn:
        row = conn.execute(sa.select(sa.func.coalesce(sa.func.max(t.c.seq), -1))).scalar()
        base = int(row if row is not None else -1) + 1
        for col in ("ts", "expiry"):  # the database keeps microseconds; say so by flooring
            if col in canon.columns:
                canon[col] = canon[col].dt.floor("us")
        records: list[dict[str, Any]] = [
            {str(k): v for k, v in r.items()}
            for r in canon.astype(object).where(canon.notna(), None).to_dict("records")
        ]
        for i, rec in enumerate(records):
            rec["seq"] = base + i
            for col in ("ts", "expiry"):
                if col in rec and rec[col] is not None:
                    rec[col] = rec[col].to_pydatetime()
        if records:
            conn.execute(t.insert(), records)
    return len(canon)


def _statement(sql: str, expanding_symbols: bool) -> sa.TextClause:
    stmt = sa.text(sql)
    if expanding_symbols:
        stmt = stmt.bindparams(sa.bindparam("symbols", expanding=True))
    return stmt


class SQLConfig(ComponentConfig):
    url: str = Field(
        "postgresql+psycopg://localhost/ash",
        description="SQLAlchemy database URL, e.g. postgresql+psycopg://user@host:5432/db.",
    )
    trades_table: str = Field("trades", description="Table of canonical trades.")
    quotes_table: str = Field("quotes", description="Table of canonical quotes.")
    options_table: str = Field("options", description="Table of canonical option snapshots.")
    tiebreak_column: str | None = Field(
        "seq",
        description="Column ordering events with equal timestamps (arrival order); "
        "None orders by ts only. Ignored where the table lacks it.",
    )


class SQLSource(Source[SQLConfig]):
    """Canonical events from a SQL database reached by a SQLAlchemy URL."""

    name: ClassVar[str] = "sql"

    def __init__(self, config: SQLConfig) -> None:
        super().__init__(config)
        try:
            self.engine = sa.create_engine(self.config.url)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise DataError(
                f"bad SQLAlchemy URL {self.config.url!r} ({exc})",
                fix="write it like postgresql+psycopg://user@host:5432/dbname",
            ) from None

    def table_name(self, kind: EventKind) -> str:
        return {
            "trades": self.config.trades_table,
            "quotes": self.config.quotes_table,
            "options": self.config.options_table,
        }[kind]

    def _columns(self, kind: EventKind) -> list[str]:
        return [c["name"] for c in sa.inspect(self.engine).get_columns(self.table_name(kind))]

    def _has(self, kind: EventKind) -> bool:
        return bool(sa.inspect(self.engine).has_table(self.table_name(kind)))

    def event_kinds(self) -> frozenset[EventKind]:
        return frozenset(k for k in EVENT_KINDS if self._has(k))

    def symbols(self) -> list[str]:
        found: set[str] = set()
        with self.engine.connect() as conn:
            for k in self.event_kinds():
                col = symbol_column(k)
                rows = conn.execute(sa.text(f'SELECT DISTINCT "{col}" FROM "{self.table_name(k)}"'))
                found.update(r[0] for r in rows if r[0] is not None)
        return sorted(found)

    def select(
        self,
        kind: EventKind,
        symbols: Sequence[str] | None,
        start: pd.Timestamp | None,
        end: pd.Timestamp | None,
    ) -> tuple[sa.TextClause, dict[str, Any]]:
        """The parameterized query a read runs."""
        sql, params = self.select_sql(kind, symbols, start, end)
        return _statement(sql, "symbols" in params), params

    def select_sql(
        self,
        kind: EventKind,
        symbols: Sequence[str] | None,
        start: pd.Timestamp | None,
        end: pd.Timestamp | None,
    ) -> tuple[str, dict[str, Any]]:
        """SQL text and parameters of a read (symbols bind as an expanding IN list)."""
        if not self._has(kind):
            raise DataError(
                f"table {self.table_name(kind)!r} for {kind} does not exist in {self.engine.url!r}",
                fix=f"create it (see docs/data.md) or set {kind}_table in the source config",
            )
        present = set(self._columns(kind))
        missing = [c for c in SCHEMAS[kind] if c not in present]
        if missing:
            raise DataError(
                f"table {self.table_name(kind)!r} lacks canonical columns {missing}",
                fix="add or rename the columns (docs/data.md)",
            )
        cols = ", ".join(f'"{c}"' for c in SCHEMAS[kind])
        where: list[str] = []
        params: dict[str, Any] = {}
        if symbols:
            where.append(f'"{symbol_column(kind)}" IN :symbols')
            params["symbols"] = [str(s) for s in symbols]
        if start is not None:
            where.append("ts >= :start")
            params["start"] = as_utc(start).to_pydatetime()
        if end is not None:
            where.append("ts < :end")
            params["end"] = as_utc(end).to_pydatetime()
        order = "ts"
        tie = self.config.tiebreak_column
        if tie and tie in present:
            order += f', "{tie}"'
        sql = f'SELECT {cols} FROM "{self.table_name(kind)}"'
        if where:
            sql += " WHERE " + " AND ".join(where)
        return sql + f" ORDER BY {order}", params

    def explain(
        self,
        kind: EventKind,
        symbols: Sequence[str] | None = None,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> str:
        """The server's plan for a read (PostgreSQL ``EXPLAIN``): shows the pushed-down filters."""
        sql, params = self.select_sql(kind, symbols, start, end)
        with self.engine.connect() as conn:
            rows = conn.execute(_statement("EXPLAIN " + sql, "symbols" in params), params)
            return "\n".join(str(r[0]) for r in rows)

    def read(
        self,
        kind: EventKind,
        symbols: Sequence[str],
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        chunk_rows: int = 1_000_000,
    ) -> Iterator[pd.DataFrame]:
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        stmt, params = self.select(kind, list(symbols) or None, start, end)
        cols = list(SCHEMAS[kind])
        yielded = False
        with self.engine.connect() as conn:
            # Server-side cursor: the database streams rows; we hold one chunk at a time.
            result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(
                stmt, params
            )
            for part in result.partitions(chunk_rows):
                yielded = True
                yield to_canonical(pd.DataFrame(part, columns=cols), kind)
        if not yielded:
            yield empty_frame(kind)
