"""Built-in FeatureBuilder components (registered like any third-party plugin)."""

from ash import hookimpl
from ash.hookspecs import Register
from ash.interfaces import FeatureBuilder


@hookimpl
def register_feature_builders(register: Register) -> None:
    builtins: tuple[type[FeatureBuilder], ...] = ()
    for cls in builtins:
        register(cls)
