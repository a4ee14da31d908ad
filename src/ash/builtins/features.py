"""Built-in FeatureBuilder components (registered like any third-party plugin)."""

from ash import hookimpl
from ash.components.features import ALL_FEATURE_BUILDERS
from ash.hookspecs import Register


@hookimpl
def register_feature_builders(register: Register) -> None:
    for cls in ALL_FEATURE_BUILDERS:
        register(cls)
