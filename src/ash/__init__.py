"""ash: a plugin-registry model factory for probabilistic price prediction.

``hookimpl`` and ``__version__`` are resolved on first use: ``import ash`` (and so ``ash
--help``) stays free of pluggy and package metadata look-ups.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pluggy

    hookimpl: pluggy.HookimplMarker
    __version__: str

__all__ = ["__version__", "hookimpl"]


def __getattr__(name: str) -> Any:
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
