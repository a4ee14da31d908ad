"""ash: a plugin-registry model factory for probabilistic price prediction."""

from importlib.metadata import PackageNotFoundError, version

import pluggy

hookimpl = pluggy.HookimplMarker("ash")
"""Decorator that marks a plugin function as an implementation of an ash hook."""

try:
    __version__ = version("ash")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__", "hookimpl"]
