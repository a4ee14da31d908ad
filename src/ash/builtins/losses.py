"""Built-in Loss components (registered like any third-party plugin)."""

from ash import hookimpl
from ash.hookspecs import Register


@hookimpl
def register_losses(register: Register) -> None:
    for cls in ():
        register(cls)
