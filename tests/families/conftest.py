"""Tiny trained runs shared by the family and ensemble tests (one bar cache, one fingerprint)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ash.components.families import LightGBMFamily
from ash.config.resolve import ResolvedExperiment, resolve
from ash.train.trainer import run_training
from tests.train.helpers import TINY, ensure_synthetic_registered

SMALL = LightGBMFamily.Config(classes=4, max_rounds=25, min_data_in_leaf=20, early_stopping=5)


def tiny(family: dict[str, Any] | None = None, **model: Any) -> ResolvedExperiment:
    """The tiny synthetic experiment with an EWMA prior (and ``family`` when given)."""
    ensure_synthetic_registered()
    raw = yaml.safe_load(yaml.safe_dump(TINY))
    raw["model"]["prior"] = {"kind": "ewma_gaussian", "lookback_bars": 40}
    raw["model"].update(model)
    raw["train"]["epochs"] = 1
    if family is not None:
        raw["model"]["family"] = family
    return resolve(raw)


@pytest.fixture(scope="session")
def families_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("families")


@pytest.fixture
def in_root(families_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASH_EXPERIMENTS", str(families_root))
    return families_root


def _train(root: Path, resolved: ResolvedExperiment) -> Path:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ASH_EXPERIMENTS", str(root))
        return run_training(resolved, progress=False).run_dir


@pytest.fixture(scope="session")
def lightgbm_run(families_root: Path) -> Path:
    return _train(families_root, tiny({"kind": "lightgbm", **SMALL.model_dump()}))


@pytest.fixture(scope="session")
def neural_run(families_root: Path) -> Path:
    return _train(families_root, tiny())
