"""Session fixtures shared by more than one test package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ash.export.fixtures import write_fixtures


@pytest.fixture(scope="session")
def contract_fixtures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The contract fixtures (valid and broken models, vectors), written once per session for
    both the Python validator's tests and the Rust runtime's."""
    out = tmp_path_factory.mktemp("contract-fixtures")
    write_fixtures(out)
    return out


@pytest.fixture(scope="session")
def contract_manifest(contract_fixtures: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((contract_fixtures / "manifest.json").read_text())
    return data
