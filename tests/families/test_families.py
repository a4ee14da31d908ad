"""Model families: the kind, the built-in LightGBM family, and a fitted-family run end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from onnx import numpy_helper

from ash.bars.columns import CORE_COLUMNS
from ash.components.families import LightGBMFamily, NeuralFamily
from ash.components.families.lightgbm import class_map
from ash.config.errors import ConfigError
from ash.config.resolve import resolve
from ash.export.exporter import ExportError, export_model
from ash.export.run import export_run, run_metadata
from ash.export.validate import check_model
from ash.interfaces import Family, FamilyData
from ash.jobs.main_job import replay_test_stretch
from ash.kinds import BY_NAME
from ash.onnx_io import cpu_session
from ash.registry import get_registry
from ash.runs import load_model, make_model
from ash.runtime import find_serve_binary
from ash.testing import ConformanceError, check_component
from tests.families.conftest import SMALL, tiny
from tests.train.helpers import TINY, ensure_synthetic_registered


def test_family_is_a_kind_with_a_hook_and_a_default() -> None:
    kind = BY_NAME["family"]
    assert kind.hook == "register_families"
    assert kind.slots == ("model.family",)
    assert get_registry().get("family", "lightgbm") is LightGBMFamily
    ensure_synthetic_registered()
    resolved = resolve(yaml.safe_load(yaml.safe_dump(TINY)))  # no model.family: neural
    assert resolved.component("model.family").info.cls is NeuralFamily
    assert resolved.to_dict()["model"]["family"] == {"kind": "neural"}


def test_lightgbm_passes_the_conformance_kit() -> None:
    check_component(LightGBMFamily, SMALL)


def test_unknown_family_parameter_is_a_config_error() -> None:
    with pytest.raises(Exception, match=r"model\.family\.leaves"):
        tiny({"kind": "lightgbm", "leaves": 3})


def test_a_fitted_family_needs_no_backbone() -> None:
    resolved = tiny({"kind": "lightgbm", **SMALL.model_dump()}, backbone=None)
    assert "model.backbone" not in resolved.components
    model = make_model(resolved, CORE_COLUMNS)
    assert model.backbone is None and isinstance(model.family, LightGBMFamily)


def test_the_neural_family_without_a_backbone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"model\.backbone is missing: the neural family"):
        tiny(backbone=None)


def test_class_map_is_contiguous_and_covers_every_bucket() -> None:
    ids = np.r_[np.full(500, 3), np.arange(9).repeat(10), -np.ones(7, dtype=int)]
    mapping = class_map(ids, 9, 4)
    assert len(mapping) == 9
    assert (np.diff(mapping) >= 0).all() and mapping[0] == 0
    assert set(mapping.tolist()) == set(range(mapping.max() + 1))


class _LyingFamily(LightGBMFamily):
    """Exports trees that are not the ones it predicts with (a broken converter)."""

    name = "lying_lightgbm"

    def to_onnx(self, n_inputs: int, opset: int) -> Any:
        proto = super().to_onnx(n_inputs, opset)
        for init in proto.graph.initializer:
            if init.name == "family_h0_map":  # send every bucket to class 0
                zeros = np.zeros(self.n_buckets, dtype=np.int64)
                init.CopyFrom(numpy_helper.from_array(zeros, init.name))
        return proto


def test_conformance_kit_refuses_an_export_that_differs_from_python() -> None:
    with pytest.raises(ConformanceError, match="lying_lightgbm"):
        check_component(_LyingFamily, SMALL)


def test_lightgbm_run_trains_reloads_and_exports_with_parity(
    lightgbm_run: Path, in_root: Path
) -> None:
    model, resolved = load_model(lightgbm_run)
    assert isinstance(model.family, LightGBMFamily) and model.backbone is None
    assert len(model.family.boosters) == len(TINY["horizons"])
    out = export_run(lightgbm_run, optimize=False)
    assert out.parity is not None and out.parity.ok, out.parity
    assert "validation bars" in out.windows_source
    check_model(out.result.path)  # contract v1: ai.onnx.ml trees inside
    if find_serve_binary() is None:
        pytest.skip("ash-serve is not built: the Rust replay needs inference-rs/target/release")
    replayed = replay_test_stretch(resolved, lightgbm_run, model.window)
    assert replayed.bars_equal and replayed.predictions > 0
    assert replayed.max_prob_diff <= 1e-5


def test_export_refuses_a_family_whose_graph_differs(lightgbm_run: Path, tmp_path: Path) -> None:
    model, resolved = load_model(lightgbm_run)
    assert model.family is not None
    liar = _LyingFamily(SMALL, model.family.n_horizons, model.family.n_buckets)
    liar.load_state_bytes(model.family.state_bytes())
    model.family = liar
    metadata = run_metadata(lightgbm_run, resolved)
    with pytest.raises(ExportError, match="lying_lightgbm"):
        export_model(model, tmp_path / "m.onnx", metadata=metadata, optimize=False)


def test_neural_family_has_no_fitted_methods() -> None:
    family = NeuralFamily(NeuralFamily.Config(), 2, 5)
    assert family.gradient and family.state_bytes() == b""
    with pytest.raises(TypeError, match=r"ash\.train\.trainer"):
        family(torch.zeros(1, 3))


def test_family_base_requires_the_fitted_methods() -> None:
    class Half(Family):  # type: ignore[type-arg]
        name = "half"

    with pytest.raises(TypeError):
        Half(NeuralFamily.Config(), 1, 3)  # type: ignore[abstract]


def test_trees_route_one_ulp_apart_features_as_lightgbm_does() -> None:
    """Features computed in float32 often differ by one ulp; LightGBM may split between them
    with a double threshold the converter would round onto one of them (measured: 2.95 nats of
    head difference without ``exact_thresholds``)."""
    rng = np.random.default_rng(0)
    vals = np.float32(1.0) + np.arange(6, dtype=np.float32) * np.finfo(np.float32).eps
    x = rng.choice(vals, size=(4000, 3)).astype(np.float32)
    y = ((x[:, 0] > vals[2]).astype(int) * 3 + rng.integers(0, 2, 4000))[:, None]
    data = FamilyData(x, y, np.zeros((4000, 1, 7), np.float32))
    family = LightGBMFamily(SMALL.model_copy(update={"min_data_in_leaf": 5}), 1, 7)
    family.fit(data, data)
    with torch.no_grad():
        py = family(torch.from_numpy(x)).numpy()
    onnx_head = cpu_session(family.to_onnx(3, 17).SerializeToString()).run(None, {"x": x})[0]
    assert np.abs(py - onnx_head).max() < 1e-5
