"""Built-in Backbone components (registered like any third-party plugin)."""

from ash import hookimpl
from ash.components.backbones import ALL_BACKBONES
from ash.hookspecs import Register


@hookimpl
def register_backbones(register: Register) -> None:
    for cls in ALL_BACKBONES:
        register(cls)
