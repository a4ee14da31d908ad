"""Walk-forward folds work for a fitted family like for the neural one: each fold fits its own
boosters on its own training span and is evaluated on its own test block."""

from __future__ import annotations

from pathlib import Path

import pytest

from ash.components.families import LightGBMFamily
from ash.config.resolve import resolve
from ash.jobs.walkforward import run_walk_forward
from ash.runs import load_model
from tests.families.conftest import SMALL, tiny


@pytest.mark.slow
def test_lightgbm_walk_forward_fits_each_fold(in_root: Path, tmp_path: Path) -> None:
    raw = tiny({"kind": "lightgbm", **SMALL.model_dump()}, backbone=None).to_dict()
    raw["split"]["walk_forward_folds"] = 2
    table = run_walk_forward(resolve(raw), run_dir=tmp_path / "wf", progress=False)
    assert table["n_folds"] == 2
    nll = table["metrics"]["model.nll"]["h5"]
    assert len(nll["folds"]) == 2 and all(v == v for v in nll["folds"])  # finite, not NaN
    states = []
    for k in (0, 1):
        model, _ = load_model(tmp_path / "wf" / "folds" / f"fold_{k}")
        assert isinstance(model.family, LightGBMFamily) and model.backbone is None
        states.append(model.family.state_bytes())
    assert states[0] != states[1]  # each fold fitted its own trees
