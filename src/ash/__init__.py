"""ash: a plugin-registry model factory for probabilistic price prediction.

The Python API (docs/python-api.md) is reachable from here — ``ash.load_run``, ``ash.load_model``,
``ash.read_ticks``, ``ash.replay`` — and imported on first use, so ``import ash`` (and the CLI's
``--help``) never pulls in torch.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pluggy

hookimpl = pluggy.HookimplMarker("ash")
"""Decorator that marks a plugin function as an implementation of an ash hook."""

try:
    __version__ = version("ash")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

_API = ("load_run", "load_model", "read_ticks", "replay")

__all__ = ["__version__", "hookimpl", "load_model", "load_run", "read_ticks", "replay"]


def __getattr__(name: str) -> Any:
    if name in _API:
        # By name, not an import statement: the API sits at the top of the layers
        # (docs/architecture.md) and every layer imports this package for ``hookimpl``.
        return getattr(import_module("ash.api"), name)
    raise AttributeError(f"module 'ash' has no attribute {name!r}")
