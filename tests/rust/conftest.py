"""Fixtures for the Rust runtime's integration tests: the release binary, the ONNX Runtime
library, the shared contract fixtures. Nothing is built here: scripts/setup.sh builds the binary.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from ash.cli.serve import repo_root
from ash.export.fixtures import write_fixtures
from ash.runtime_lib import onnxruntime_library

pytestmark = [pytest.mark.rust]


@pytest.fixture(scope="session")
def serve_bin() -> Path:
    binary = repo_root() / "inference-rs" / "target" / "release" / "ash-serve"
    if shutil.which("cargo") is None and not binary.is_file():
        pytest.skip("cargo is not installed, so the Rust runtime (inference-rs) cannot be built")
    if not binary.is_file():
        pytest.fail(f"{binary} is missing: run scripts/setup.sh (cargo build --release)")
    return binary


@pytest.fixture(scope="session")
def ort_env() -> dict[str, str]:
    env = dict(os.environ)
    env["ORT_DYLIB_PATH"] = str(onnxruntime_library())
    return env


@pytest.fixture(scope="session")
def rust_fixtures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("contract-fixtures")
    write_fixtures(out)
    return out


@pytest.fixture(scope="session")
def rust_manifest(rust_fixtures: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((rust_fixtures / "manifest.json").read_text())
    return data
