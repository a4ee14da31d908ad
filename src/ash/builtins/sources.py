"""Built-in Source components (registered like any third-party plugin)."""

from ash import hookimpl
from ash.hookspecs import Register
from ash.interfaces import Source


@hookimpl
def register_sources(register: Register) -> None:
    builtins: tuple[type[Source], ...] = ()
    for cls in builtins:
        register(cls)
