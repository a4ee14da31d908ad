"""Fixtures: a registry with toy components, and fixture plugins installed as real distributions."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ash.registry import Registry, load_registry
from tests.foundation import toy_components

FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def toy_registry() -> Registry:
    return load_registry(entry_points=False, extra_plugins=[toy_components.PLUGIN])


def _install(target: Path, packages: list[Path]) -> None:
    """Install packages (their own pyproject.toml, entry points and all) into ``target``."""
    uv = shutil.which("uv") or str(Path.home() / ".local/bin/uv")
    if Path(uv).exists():
        cmd = [uv, "pip", "install", "--quiet", "--no-deps", "--target", str(target)]
        cmd += ["--python", sys.executable]
    else:
        cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target)]
    subprocess.run([*cmd, *map(str, packages)], check=True, capture_output=True, text=True)


@pytest.fixture(scope="session")
def fixture_plugins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where every fixture plugin (broken on purpose) is pip-installed."""
    target = tmp_path_factory.mktemp("site")
    _install(target, sorted(p for p in FIXTURE_PLUGINS.iterdir() if p.is_dir()))
    return target


@pytest.fixture(scope="session")
def template_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template plugin pip-installed on its own, as a user would install a third party."""
    target = tmp_path_factory.mktemp("template-site")
    _install(target, [REPO / "plugins" / "ash-plugin-template"])
    return target
