"""The hooks a plugin may implement: one per component kind, ``register_<kinds>(register)``.

``register_sources``, ``register_discretizers``, ``register_feature_builders``,
``register_losses``, ``register_backbones``, ``register_families`` — derived from
:data:`ash.kinds.KINDS`. Each hook receives a ``register`` callback that takes a component
class. Built-in components register through these same hooks (see :mod:`ash.builtins`), exactly
as a third-party package does.
"""

from collections.abc import Callable
from typing import Any

import pluggy

from ash.kinds import KINDS

hookspec = pluggy.HookspecMarker("ash")

Register = Callable[[type[Any]], None]


def _spec(hook: str, base: str) -> Callable[[Register], None]:
    def spec(register: Register) -> None:
        """Register component classes."""

    spec.__name__ = spec.__qualname__ = hook
    spec.__doc__ = f"Register :class:`ash.interfaces.{base}` subclasses."
    return spec


for _kind in KINDS:
    globals()[_kind.hook] = hookspec(_spec(_kind.hook, _kind.base.__name__))
