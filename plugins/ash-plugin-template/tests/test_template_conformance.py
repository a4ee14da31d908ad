"""The template plugin's own tests: what every plugin should run against its components."""

from __future__ import annotations

import pytest
from ash_plugin_template import LastStepsMLP

from ash.model import build_model
from ash.registry import get_registry
from ash.testing import check_component, check_model, default_context, make_bars


def test_backbone_passes_ash_conformance_kit() -> None:
    check_component(LastStepsMLP)


@pytest.mark.parametrize(
    "config", [LastStepsMLP.Config(last_steps=1, hidden=8), LastStepsMLP.Config(last_steps=64)]
)
def test_backbone_passes_with_other_configs(config: LastStepsMLP.Config) -> None:  # type: ignore[name-defined]
    check_component(LastStepsMLP, config)


def test_backbone_found_through_the_registry() -> None:
    assert get_registry().get("backbone", "template_mlp") is LastStepsMLP


def test_backbone_inside_an_assembled_model() -> None:
    reg = get_registry()
    ctx = default_context()
    returns = reg.get("feature_builder", "returns")
    log_return = reg.get("discretizer", "log_return")
    model = build_model(
        ctx,
        8,
        [(returns, returns.Config(lookbacks=(1, 5)))],  # type: ignore[list-item]
        (LastStepsMLP, LastStepsMLP.Config(hidden=16)),
        (log_return, log_return.Config(n_buckets=11)),  # type: ignore[arg-type]
    )
    model.fit_normalization(make_bars(4, model.window, ctx.bar_columns, seed=1))
    check_model(model)
