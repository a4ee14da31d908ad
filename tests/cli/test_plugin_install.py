"""Plugin installation exactly as the README says: copy the template, rename it, ``pip install
-e`` it with the venv's own pip, and ``ash plugins`` lists it.

Installed with ``--target`` into a temporary folder (added as a site dir for the ``ash plugins``
run), so the shared venv is never changed; ``--no-build-isolation`` builds with the venv's
hatchling (dev extra) so that the test needs no network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "plugins" / "ash-plugin-template"

LIST_PLUGINS = """
import site, sys
site.addsitedir(sys.argv[1])  # processes the editable install's .pth, as in a venv
from ash.cli.main import app
app(["plugins", "--json"], prog_name="ash")
"""


def _copy_and_rename(dest: Path) -> Path:
    plugin = dest / "ash-plugin-demo"
    shutil.copytree(TEMPLATE, plugin, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    package = plugin / "src" / "ash_plugin_demo"
    (plugin / "src" / "ash_plugin_template").rename(package)
    for path in [plugin / "pyproject.toml", *package.glob("*.py")]:
        text = path.read_text().replace("ash_plugin_template", "ash_plugin_demo")
        text = text.replace("ash-plugin-template", "ash-plugin-demo")
        text = text.replace("template = ", "demo = ").replace('"template_mlp"', '"demo_mlp"')
        path.write_text(text)
    return plugin


@pytest.mark.slow
def test_a_copied_template_installs_with_pip_and_is_listed(tmp_path: Path) -> None:
    plugin = _copy_and_rename(tmp_path)
    site_dir = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "-e", str(plugin), "--target", str(site_dir)], check=True, timeout=600)
    listed = subprocess.run(
        [sys.executable, "-c", LIST_PLUGINS, str(site_dir)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    backbones = json.loads(listed.stdout)["components"]["backbone"]
    demo = next(b for b in backbones if b["name"] == "demo_mlp")
    assert demo["distribution"] == "ash-plugin-demo" and demo["plugin"] == "demo"
