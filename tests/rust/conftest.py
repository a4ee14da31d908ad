"""Fixtures for the Rust runtime's integration tests: the release binary, the ONNX Runtime
library, the shared contract fixtures. Nothing is built here: scripts/setup.sh builds the binary.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ash.paths import repo_root
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
