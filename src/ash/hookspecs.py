"""The hooks a plugin may implement: one per component kind.

Each hook receives a ``register`` callback that takes a component class. Built-in components
register through these same hooks (see :mod:`ash.builtins`), exactly as a third-party package does.
"""

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("ash")

Register = Callable[[type[Any]], None]


@hookspec
def register_sources(register: Register) -> None:
    """Register :class:`ash.interfaces.Source` subclasses."""


@hookspec
def register_discretizers(register: Register) -> None:
    """Register :class:`ash.interfaces.Discretizer` subclasses."""


@hookspec
def register_feature_builders(register: Register) -> None:
    """Register :class:`ash.interfaces.FeatureBuilder` subclasses."""


@hookspec
def register_losses(register: Register) -> None:
    """Register :class:`ash.interfaces.Loss` subclasses."""


@hookspec
def register_backbones(register: Register) -> None:
    """Register :class:`ash.interfaces.Backbone` subclasses."""
