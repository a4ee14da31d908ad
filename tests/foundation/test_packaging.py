"""Packaging: any Python >= 3.11, the CPU ONNX Runtime wheel by default, one wheel at a time."""

from __future__ import annotations

import importlib.metadata
import os
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _installed(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def test_requires_python_has_no_upper_bound() -> None:
    spec = SpecifierSet(PROJECT["requires-python"])
    assert all(v in spec for v in ("3.11", "3.12", "3.13", "3.14"))
    assert "3.10" not in spec
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in spec


def test_default_install_is_the_cpu_onnxruntime_wheel() -> None:
    names = {Requirement(r).name for r in PROJECT["dependencies"]}
    assert "onnxruntime" in names and "onnxruntime-gpu" not in names
    gpu = {Requirement(r).name for r in PROJECT["optional-dependencies"]["gpu"]}
    assert gpu == {"onnxruntime-gpu"}


def test_exactly_one_onnxruntime_wheel_is_installed() -> None:
    """Both wheels ship the `onnxruntime` package; set-up keeps the one asked for (ASH_GPU)."""
    want, other = (
        ("onnxruntime-gpu", "onnxruntime")
        if os.environ.get("ASH_GPU") == "1"
        else ("onnxruntime", "onnxruntime-gpu")
    )
    assert _installed(want), f"{want} is not installed; run scripts/setup.sh"
    assert not _installed(other), f"{other} is installed beside {want}; run scripts/setup.sh"


def test_the_venv_can_install_plugins() -> None:
    """The README says `pip install -e` a plugin into the venv: pip and uv must be there."""
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "pip").is_file() or _installed("pip")
    assert (bin_dir / "uv").is_file()
