"""Open an experiment's data source the way training will, before any work is done.

Every built-in source checks its inputs when it is built (the DuckDB store exists and is a
DuckDB database with event tables; Lean and LOBSTER folders hold their files), so building it
and closing it again is the check: ``ash validate`` reports a bad data path as a clear
:class:`~ash.data.sources.report.DataError` instead of ``ash train`` failing later. No database
is contacted (SQL engines connect lazily).
"""

from __future__ import annotations

from ash.config import ResolvedExperiment
from ash.data.pipeline import make_source


def check_source(resolved: ResolvedExperiment) -> str:
    """Build and close ``data.source``; return its name. Raises ``DataError`` if it cannot read."""
    source = make_source(resolved)
    close = getattr(source, "close", None)
    if callable(close):
        close()
    return source.name
