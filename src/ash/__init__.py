"""ash: a plugin-registry model factory for probabilistic price prediction.

The Python API (docs/python-api.md) is reachable from here — ``ash.load_run``, ``ash.load_model``,
``ash.read_ticks``, ``ash.replay`` — and imported on first use, so ``import ash`` (and the CLI's
``--help``) never pulls in torch. ``hookimpl`` and ``__version__`` are resolved on first use too:
``import ash`` stays free of pluggy and package metadata look-ups.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pluggy

    hookimpl: pluggy.HookimplMarker
    __version__: str

_API = ("load_run", "load_model", "read_ticks", "replay")

__all__ = ["__version__", "hookimpl", "load_model", "load_run", "read_ticks", "replay"]


def __getattr__(name: str) -> Any:
    if name in _API:
        from importlib import import_module

        # By name, not an import statement: the API sits at the top of the layers
        # (docs/architecture.md) and every layer imports this package for ``hookimpl``.
        return getattr(import_module("ash.api"), name)
    if name == "hookimpl":
        import pluggy

        marker = pluggy.HookimplMarker("ash")
        # the decorator that marks a plugin function as an implementation of an ash hook
        globals()["hookimpl"] = marker
        return marker
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("ash")
        except PackageNotFoundError:  # running from a source tree without installation
            found = "0.0.0"
        globals()["__version__"] = found
        return found
    raise AttributeError(f"module 'ash' has no attribute {name!r}")
