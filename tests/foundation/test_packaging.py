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


def _requirement_closure(root: str, extras: set[str]) -> set[str]:
    """Every distribution the installed ``root[extras]`` needs, transitively, on this machine
    (markers evaluated here): what a fresh set-up resolves and downloads."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo: list[tuple[str, set[str]]] = [(root, extras)]
    while todo:
        name, wanted = todo.pop()
        key = (name.lower().replace("_", "-"), frozenset(wanted))
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            env_extras = wanted or {""}
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in env_extras):
                todo.append((req.name, set(req.extras)))
    return {name for name, _ in seen}


def test_a_cpu_set_up_resolves_no_gpu_wheel() -> None:
    """The dependencies scripts/setup.sh installs without ASH_GPU: onnxruntime, never the 256 MB
    onnxruntime-gpu wheel, anywhere in the dependency tree."""
    if os.environ.get("ASH_GPU") == "1":
        return
    closure = _requirement_closure("ash", {"dev"})
    assert "onnxruntime" in closure and "torch" in closure
    assert "onnxruntime-gpu" not in closure
    assert "onnxruntime-gpu" in _requirement_closure("ash", {"gpu"})


def test_the_rust_runtime_loads_the_installed_wheels_library() -> None:
    """``python -m ash.runtime_lib`` (ORT_DYLIB_PATH of ash-serve) is a file of whichever
    ONNX Runtime wheel is installed."""
    from ash.runtime_lib import onnxruntime_library

    lib = onnxruntime_library()
    owner = next(d for d in ("onnxruntime", "onnxruntime-gpu") if _installed(d))
    files = importlib.metadata.distribution(owner).files or []
    owned = {Path(str(f.locate())).resolve() for f in files if "libonnxruntime" in f.name}
    assert lib in owned, f"{lib} is not a file of the installed {owner} wheel"
