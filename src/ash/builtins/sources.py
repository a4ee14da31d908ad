"""Built-in Source components (registered like any third-party plugin)."""

from ash import hookimpl
from ash.hookspecs import Register


@hookimpl
def register_sources(register: Register) -> None:
    for cls in ():
        register(cls)
