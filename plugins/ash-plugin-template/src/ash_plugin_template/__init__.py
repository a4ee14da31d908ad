"""An example third-party ash plugin: a small MLP backbone and a model family (multinomial
logistic regression, ``model.family: {kind: softmax_regression}``) registered through an entry
point.

Copy this package, rename it, and replace the component. ash discovers it through the
``[project.entry-points.ash]`` table in ``pyproject.toml``; no change to ash is needed.
"""

import ash
from ash.hookspecs import Register
from ash_plugin_template.backbone import LastStepsMLP, LastStepsMLPConfig
from ash_plugin_template.family import SoftmaxRegression, SoftmaxRegressionConfig

__all__ = ["LastStepsMLP", "LastStepsMLPConfig", "SoftmaxRegression", "SoftmaxRegressionConfig"]


@ash.hookimpl
def register_backbones(register: Register) -> None:
    register(LastStepsMLP)


@ash.hookimpl
def register_families(register: Register) -> None:
    register(SoftmaxRegression)
