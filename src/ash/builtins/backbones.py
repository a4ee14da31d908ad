"""Built-in Backbone components (registered like any third-party plugin)."""

from ash import hookimpl
from ash.hookspecs import Register
from ash.interfaces import Backbone


@hookimpl
def register_backbones(register: Register) -> None:
    builtins: tuple[type[Backbone], ...] = ()
    for cls in builtins:
        register(cls)
