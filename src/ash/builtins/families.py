"""Built-in model families (registered like any third-party plugin)."""

from ash import hookimpl
from ash.components.families import ALL_FAMILIES
from ash.hookspecs import Register


@hookimpl
def register_families(register: Register) -> None:
    for cls in ALL_FAMILIES:
        register(cls)
