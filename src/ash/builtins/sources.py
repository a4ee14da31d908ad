"""Built-in Source components (registered like any third-party plugin)."""

from typing import Any

from ash import hookimpl
from ash.data.sources.duckdb_source import DuckDBSource
from ash.data.sources.lean import LeanSource
from ash.data.sources.lobster import LobsterSource
from ash.data.sources.sql import SQLSource
from ash.hookspecs import Register
from ash.interfaces import Source
from ash.synthetic.source import SyntheticSource


@hookimpl
def register_sources(register: Register) -> None:
    builtins: tuple[type[Source[Any]], ...] = (DuckDBSource, SQLSource, LeanSource, LobsterSource)
    for cls in builtins:
        register(cls)
    register(SyntheticSource)
