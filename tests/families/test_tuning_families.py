"""Tuning over families: the space picks a family and its parameters, and a tree candidate is
exported and timed on the serving path before it is fitted (its largest stand-in)."""

from __future__ import annotations

import copy
from pathlib import Path

import optuna

from ash.components.families import LightGBMFamily
from ash.config import resolve
from ash.config.schema import LatencyBudget, SearchDimension
from ash.registry import get_registry
from ash.tune.candidate import build_candidate
from ash.tune.latency import measure_candidate
from ash.tune.space import sample_experiment
from tests.tune.conftest import BASE

SPACE = {
    "model.family.kind": SearchDimension(type="categorical", choices=["neural", "lightgbm"]),
    "model.family.num_leaves": SearchDimension(type="categorical", choices=[4, 8]),
    "model.family.max_rounds": SearchDimension(type="int", low=3, high=6),
    "model.backbone.d_model": SearchDimension(type="categorical", choices=[8, 16]),
}


def _sample(params: dict[str, object]) -> dict[str, object]:
    base = resolve(copy.deepcopy(BASE)).to_dict()
    raw, chosen = sample_experiment(optuna.trial.FixedTrial(params), base, SPACE, get_registry())
    return {"raw": raw, "chosen": chosen}


def test_family_parameters_are_asked_only_for_that_family() -> None:
    neural = _sample({"model.family.kind": "neural", "model.backbone.d_model": 8})
    assert "model.family.num_leaves" not in neural["chosen"]  # type: ignore[operator]
    trees = _sample(
        {
            "model.family.kind": "lightgbm",
            "model.family.num_leaves": 4,
            "model.family.max_rounds": 3,
            "model.backbone.d_model": 8,
        }
    )
    assert trees["chosen"]["model.family.num_leaves"] == 4  # type: ignore[index]


def test_tree_candidate_is_timed_before_it_is_fitted(tmp_path: Path) -> None:
    trees = _sample(
        {
            "model.family.kind": "lightgbm",
            "model.family.num_leaves": 4,
            "model.family.max_rounds": 3,
            "model.backbone.d_model": 8,
        }
    )
    resolved = resolve(trees["raw"])
    model, metadata = build_candidate(resolved)
    family = model.family  # type: ignore[attr-defined]
    assert isinstance(family, LightGBMFamily)
    # The stand-in is the largest booster the config allows: every round, full trees.
    for booster in family.boosters:
        assert booster.current_iteration() == 3
        tree_leaves = [t["num_leaves"] for t in booster.dump_model()["tree_info"]]
        assert max(tree_leaves) == 4
    budget = LatencyBudget(measure_on="auto")
    result = measure_candidate(model, metadata, tmp_path / "c.onnx", budget, iters=30)
    assert 0 < result.p50_ms <= result.p99_ms
