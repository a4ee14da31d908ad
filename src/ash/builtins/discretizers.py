"""Built-in Discretizer components (registered like any third-party plugin)."""

from ash import hookimpl
from ash.hookspecs import Register
from ash.interfaces import Discretizer


@hookimpl
def register_discretizers(register: Register) -> None:
    builtins: tuple[type[Discretizer], ...] = ()
    for cls in builtins:
        register(cls)
