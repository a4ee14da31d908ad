"""Built-in Discretizer components (registered like any third-party plugin)."""

from ash import hookimpl
from ash.components.discretizers import (
    FixedWidthDiscretizer,
    LatticeDiscretizer,
    LogReturnDiscretizer,
    QuantileDiscretizer,
    VolScaledDiscretizer,
)
from ash.hookspecs import Register


@hookimpl
def register_discretizers(register: Register) -> None:
    for cls in (
        LogReturnDiscretizer,
        QuantileDiscretizer,
        VolScaledDiscretizer,
        FixedWidthDiscretizer,
        LatticeDiscretizer,
    ):
        register(cls)
