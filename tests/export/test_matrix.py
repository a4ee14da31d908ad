"""Every registered discretizer × backbone (and every feature builder) exports, validates and
matches PyTorch within 1e-5 — the template third-party backbone included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

import ash.model as model_module
from ash.bars.columns import bar_columns
from ash.export.contract import PARITY_TOLERANCE
from ash.export.exporter import export_model
from ash.export.fixtures import SERVING_METADATA
from ash.export.parity import check_parity
from ash.export.synthetic import synthetic_bars
from ash.export.validate import validate_model
from ash.interfaces import ComponentConfig, ModelContext
from ash.registry import get_registry

COLUMNS = bar_columns(options=True, context=True)
HORIZONS = (1.0, 60.0, 600.0)
STEPS = 8
# Shrink whatever size fields a component has, so every model is tiny.
SMALL: dict[str, Any] = {
    "hidden": 8,
    "n_layers": 1,
    "channels": 8,
    "n_blocks": 2,
    "d_model": 16,
    "n_heads": 2,
    "mlp_hidden": 32,
    "last_steps": 4,
    "n_buckets": 21,
    "lookback_bars": 30,
}
SMALL_FEATURES: list[tuple[str, dict[str, Any]]] = [
    ("returns", {"lookbacks": (1, 5)}),
    ("realized_vol", {"windows": (10,)}),
]

REGISTRY = get_registry()
DISCRETIZERS = REGISTRY.names("discretizer")
BACKBONES = REGISTRY.names("backbone")
FEATURES = REGISTRY.names("feature_builder")


def _config(
    kind: Any, name: str, extra: dict[str, Any] | None = None
) -> tuple[type, ComponentConfig]:
    cls = REGISTRY.get(kind, name)
    fields = cls.Config.model_fields
    values = {k: v for k, v in SMALL.items() if k in fields}
    return cls, cls.Config(**{**values, **(extra or {})})


def _build(discretizer: str, backbone: str, features: list[tuple[str, dict[str, Any]]]) -> Any:
    ctx = ModelContext(COLUMNS, 1.0, HORIZONS)
    model = model_module.build_model(
        ctx,
        STEPS,
        [_config("feature_builder", name, extra) for name, extra in features],
        _config("backbone", backbone),
        _config("discretizer", discretizer),
    )
    # Fitted discretizers (quantile) export their fitted edges; fit on plausible returns.
    rng = np.random.default_rng(0)
    model.discretizer.fit(rng.standard_t(3, size=(2000, len(HORIZONS))) * np.sqrt(HORIZONS))
    return model.eval()


def _export_and_check(model: Any, tmp_path: Path) -> None:
    result = export_model(model, tmp_path / "model.onnx", metadata=SERVING_METADATA, optimize=False)
    assert validate_model(result.path) == []
    props = {p.key: json.loads(p.value) for p in onnx.load_model(str(result.path)).metadata_props}
    backbone = REGISTRY.info("backbone", model.backbone.name).plugin
    assert {
        "kind": "backbone",
        "name": model.backbone.name,
        "distribution": backbone.distribution,
        "version": backbone.version,
    } in props["ash.plugins"]
    windows = synthetic_bars(COLUMNS, model.window, 72, seed=5)
    report = check_parity(model, result.path, windows)
    assert report.max_abs_diff <= PARITY_TOLERANCE
    assert len(report.horizons) == len(HORIZONS)


def test_registry_has_the_template_backbone() -> None:
    assert "template_mlp" in BACKBONES
    assert REGISTRY.info("backbone", "template_mlp").plugin.distribution != "ash"


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("discretizer", DISCRETIZERS)
def test_discretizer_backbone_exports(discretizer: str, backbone: str, tmp_path: Path) -> None:
    _export_and_check(_build(discretizer, backbone, SMALL_FEATURES), tmp_path)


@pytest.mark.parametrize("feature", FEATURES)
def test_feature_builder_exports(feature: str, tmp_path: Path) -> None:
    _export_and_check(_build("log_return", "template_mlp", [(feature, {})]), tmp_path)
