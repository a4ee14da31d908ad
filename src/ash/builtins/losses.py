"""Built-in Loss components (registered like any third-party plugin)."""

from ash import hookimpl
from ash.components.losses import ALL_LOSSES
from ash.hookspecs import Register


@hookimpl
def register_losses(register: Register) -> None:
    for cls in ALL_LOSSES:
        register(cls)
