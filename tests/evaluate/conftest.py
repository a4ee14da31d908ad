from __future__ import annotations

from pathlib import Path

import pytest

from tests.train.helpers import ensure_synthetic_registered


@pytest.fixture(scope="session")
def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One experiments root per session, so every test reuses the cached synthetic bars."""
    return tmp_path_factory.mktemp("experiments")


@pytest.fixture
def ash_root(shared_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASH_EXPERIMENTS", str(shared_root))
    ensure_synthetic_registered()
    return shared_root
