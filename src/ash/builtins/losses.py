"""Built-in Loss components (registered like any third-party plugin)."""

from ash import hookimpl
from ash.hookspecs import Register
from ash.interfaces import Loss


@hookimpl
def register_losses(register: Register) -> None:
    builtins: tuple[type[Loss], ...] = ()
    for cls in builtins:
        register(cls)
