"""configs/tune_synthetic.yaml: validates, its space names real fields, its default is a point."""

from __future__ import annotations

from pathlib import Path

from ash.config import load_experiment
from ash.tune.space import baseline_params, check_space
from tests.tune.synthetic_plugin import ensure_synthetic

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tune_synthetic.yaml"


def test_tuning_study_config_is_valid() -> None:
    registry = ensure_synthetic()
    resolved = load_experiment(CONFIG, registry=registry)
    tune = resolved.experiment.tune
    assert tune is not None and tune.budget.p99_ms == 1.0
    check_space(tune.space, resolved.to_dict(), registry)
    params, outside = baseline_params(tune.space, resolved.to_dict())
    assert outside == []  # the default experiment is the study's first trial
    # ... taken from the experiment it extends, not from the search space.
    default = load_experiment(CONFIG.parent / "default.yaml", registry=registry).to_dict()
    assert params["model.backbone.d_model"] == default["model"]["backbone"]["d_model"]
    assert params["model.steps"] == default["model"]["steps"]
