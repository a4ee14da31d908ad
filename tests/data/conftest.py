"""Fixtures for the data tests: the real sample files, a store built from them, PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import postgres_server

REPO = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path:
    """``../shared/data`` next to the repository (or $ASH_SHARED_DATA)."""
    return Path(os.environ.get("ASH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = shared_data_dir()
    if not (root / "spy-2013-10").is_dir() or not (root / "lobster").is_dir():
        pytest.skip(f"real sample data not found at {root} (set ASH_SHARED_DATA)")
    return root


@pytest.fixture(scope="session")
def spy_dir(shared_data: Path) -> Path:
    return shared_data / "spy-2013-10"


@pytest.fixture(scope="session")
def lobster_dir(shared_data: Path) -> Path:
    return shared_data / "lobster"


@pytest.fixture(scope="session")
def real_store(tmp_path_factory: pytest.TempPathFactory, spy_dir: Path, lobster_dir: Path) -> Path:
    """A DuckDB store holding the three SPY days and the LOBSTER AMZN day (built once)."""
    from ash.data.sources.importer import import_path

    db = tmp_path_factory.mktemp("store") / "real.duckdb"
    import_path(db, "lean", spy_dir, progress=False)
    import_path(db, "lobster", lobster_dir, progress=False)
    return db


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private PostgreSQL server for this test session (one per xdist worker)."""
    with postgres_server() as url:
        yield url
