"""Search space -> Optuna parameters -> concrete experiment; fail-fast path checks."""

from __future__ import annotations

import copy
from typing import Any

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ash.config import ConfigError, resolve
from ash.config.schema import SearchDimension
from ash.registry import get_registry
from ash.tune.space import apply_values, check_space, decode_params, sample_experiment
from tests.tune.conftest import BASE


def _space(**dims: dict[str, Any]) -> dict[str, SearchDimension]:
    return {path.replace("__", "."): SearchDimension(**dim) for path, dim in dims.items()}


def _sample(space: dict[str, SearchDimension], params: dict[str, Any]) -> tuple[dict, dict]:  # type: ignore[type-arg]
    return sample_experiment(optuna.trial.FixedTrial(params), BASE, space, get_registry())


def test_values_land_on_their_paths_and_tune_block_is_dropped() -> None:
    space = _space(
        model__backbone__d_model={"type": "int", "low": 8, "high": 64, "step": 8},
        train__lr={"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        model__features__0__lookbacks={"type": "categorical", "choices": [[1, 5], [1, 5, 30]]},
    )
    raw, chosen = _sample(
        space,
        {
            "model.backbone.d_model": 24,
            "train.lr": 0.003,
            "model.features.0.lookbacks": "[1, 5, 30]",  # structured choices travel as JSON
        },
    )
    assert "tune" not in raw
    assert raw["model"]["backbone"] == {
        "kind": "transformer",
        "d_model": 24,
        "n_layers": 1,
        "n_heads": 2,
    }
    assert raw["train"]["lr"] == 0.003
    assert raw["model"]["features"][0]["lookbacks"] == [1, 5, 30]
    assert chosen["model.features.0.lookbacks"] == [1, 5, 30]
    assert BASE["model"]["backbone"]["d_model"] == 16  # the base is not mutated
    resolve(raw)  # a valid experiment


def test_changing_kind_replaces_the_block_and_skips_foreign_parameters() -> None:
    space = _space(
        model__backbone__kind={"type": "categorical", "choices": ["transformer", "gru"]},
        model__backbone__hidden={"type": "int", "low": 8, "high": 32},
        model__backbone__n_heads={"type": "categorical", "choices": [1, 2]},
    )
    raw, chosen = _sample(space, {"model.backbone.kind": "gru", "model.backbone.hidden": 12})
    assert raw["model"]["backbone"] == {"kind": "gru", "hidden": 12}
    assert "model.backbone.n_heads" not in chosen  # a GRU has no heads: not suggested
    resolve(raw)
    raw, chosen = _sample(
        space, {"model.backbone.kind": "transformer", "model.backbone.n_heads": 1}
    )
    assert "model.backbone.hidden" not in chosen
    assert raw["model"]["backbone"]["n_heads"] == 1
    assert raw["model"]["backbone"]["d_model"] == 16  # same kind: other params kept


def test_whole_block_choices() -> None:
    choices = [{"kind": "gru", "hidden": 16}, {"kind": "tcn"}]
    space = _space(model__backbone={"type": "categorical", "choices": choices})
    check_space(space, resolve(copy.deepcopy(BASE)).to_dict(), get_registry())
    label = optuna.distributions.CategoricalDistribution(
        ['{"hidden": 16, "kind": "gru"}', '{"kind": "tcn"}']
    ).choices[0]
    raw, chosen = _sample(space, {"model.backbone": label})
    assert raw["model"]["backbone"] == {"kind": "gru", "hidden": 16}
    assert decode_params({"model.backbone": label}, space) == chosen
    assert apply_values(BASE, chosen) == raw


def test_typo_in_a_path_is_reported_with_a_suggestion() -> None:
    resolved = resolve(copy.deepcopy(BASE)).to_dict()
    space = _space(model__backbone__d_modle={"type": "int", "low": 8, "high": 16})
    with pytest.raises(ConfigError, match=r"tune\.space\.model\.backbone\.d_modle.*d_model"):
        check_space(space, resolved, get_registry())
    with pytest.raises(ConfigError, match="is not an experiment field"):
        check_space(
            _space(trian__lr={"type": "float", "low": 0.1, "high": 1}), resolved, get_registry()
        )
    with pytest.raises(ConfigError, match="is empty"):
        check_space({}, resolved, get_registry())


def test_parameter_of_a_kind_the_space_can_choose_is_accepted() -> None:
    resolved = resolve(copy.deepcopy(BASE)).to_dict()
    space = _space(
        model__backbone__kind={"type": "categorical", "choices": ["transformer", "gru"]},
        model__backbone__hidden={"type": "int", "low": 8, "high": 32},
    )
    check_space(space, resolved, get_registry())  # `hidden` is a GRU parameter


@settings(max_examples=40, deadline=None)
@given(
    low=st.integers(1, 50),
    width=st.integers(0, 200),
    step=st.integers(1, 8),
    seed=st.integers(0, 2**16),
)
def test_int_dimension_samples_stay_on_the_grid(low: int, width: int, step: int, seed: int) -> None:
    high = low + width - width % step
    space = {"train.epochs": SearchDimension(type="int", low=low, high=high, step=step)}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    trial = study.ask()
    raw, chosen = sample_experiment(trial, BASE, space, get_registry())
    value = raw["train"]["epochs"]
    assert isinstance(value, int)
    assert low <= value <= high and (value - low) % step == 0
    assert apply_values(BASE, chosen) == raw


def test_bucket_nll_is_flagged_when_buckets_or_horizons_vary() -> None:
    from ash.tune.space import incomparable_objective

    space = _space(
        model__discretizer__n_buckets={"type": "categorical", "choices": [51, 101]},
        train__lr={"type": "float", "low": 1e-4, "high": 1e-2},
    )
    assert incomparable_objective(space, "nll") == ["model.discretizer.n_buckets"]
    assert incomparable_objective(space, "nll_h60") == ["model.discretizer.n_buckets"]
    assert incomparable_objective(space, "brier") == []
    assert (
        incomparable_objective(_space(train__lr={"type": "float", "low": 0, "high": 1}), "nll")
        == []
    )
