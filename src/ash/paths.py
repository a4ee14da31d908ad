"""Where the checkout is: the one place that turns this file's location into the repository root.

ash runs from a source checkout (``pip install -e``): configs, the Rust build, the benchmark pages
and the shared test vectors live beside ``src/``, not inside the package.
"""

from __future__ import annotations

from pathlib import Path


def repo_root() -> Path:
    """The checkout this package is installed from (``src/ash/paths.py`` -> the repository)."""
    return Path(__file__).resolve().parents[2]
