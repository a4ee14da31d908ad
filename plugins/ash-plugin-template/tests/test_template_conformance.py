"""The template plugin's own tests: what every plugin should run against its components."""

from __future__ import annotations

import pytest
from ash_plugin_template import LastStepsMLP, LastStepsMLPConfig

from ash.interfaces import Discretizer, FeatureBuilder
from ash.model import build_model
from ash.registry import get_registry
from ash.testing import check_component, check_model, default_context, make_bars


def test_backbone_passes_ash_conformance_kit() -> None:
    check_component(LastStepsMLP)


@pytest.mark.parametrize(
    "config", [LastStepsMLPConfig(last_steps=1, hidden=8), LastStepsMLPConfig(last_steps=64)]
)
def test_backbone_passes_with_other_configs(config: LastStepsMLPConfig) -> None:
    check_component(LastStepsMLP, config)


def test_backbone_found_through_the_registry() -> None:
    assert get_registry().get("backbone", "template_mlp") is LastStepsMLP


def test_backbone_inside_an_assembled_model() -> None:
    reg = get_registry()
    ctx = default_context()
    returns = reg.lookup(FeatureBuilder, "returns")
    log_return = reg.lookup(Discretizer, "log_return")
    model = build_model(
        ctx,
        8,
        # A class found by name has a config class known only at run time: validate a dict.
        [(returns, returns.Config.model_validate({"lookbacks": [1, 5]}))],
        (LastStepsMLP, LastStepsMLPConfig(hidden=16)),
        (log_return, log_return.Config.model_validate({"n_buckets": 11})),
    )
    model.fit_normalization(make_bars(4, model.window, ctx.bar_columns, seed=1))
    check_model(model)
