"""Exporter: metadata, declared shapes, variants, and errors that name the culprit plugin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import onnx
import pytest
import torch

from ash.export.contract import FP16_PARITY_TOLERANCE, OUTER_EDGE_BPS
from ash.export.exporter import ExportError, export_model
from ash.export.fixtures import SERVING_METADATA
from ash.export.parity import check_parity
from ash.export.synthetic import synthetic_bars
from ash.export.toy import ToyContractModel
from ash.export.validate import validate_model
from ash.interfaces import ComponentConfig, FeatureBuilder


class CumMaxFeature(FeatureBuilder):
    """A feature builder using an operator the ONNX exporter cannot handle (aten::cummax)."""

    name = "cummax_high"
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig

    @property
    def required_columns(self) -> tuple[str, ...]:
        return ("high",)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return ("running_high",)

    @property
    def warmup(self) -> int:
        return 0

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        return torch.cummax(bars[:, :, 1:2], dim=1).values


class ModelWithBadFeature(ToyContractModel):
    def __init__(self) -> None:
        super().__init__(window=8, horizons=(1.0, 5.0), n_buckets=5)
        self.extra = CumMaxFeature(ComponentConfig(), self.ctx)

    def forward(self, bars: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        bars = bars + 0.0 * self.extra(bars)
        return super().forward(bars)


def test_metadata_and_shapes_are_filled(toy_onnx: Path, toy_model: ToyContractModel) -> None:
    proto = onnx.load_model(str(toy_onnx))
    meta = {p.key: json.loads(p.value) for p in proto.metadata_props}
    assert meta["ash.contract"] == 1
    assert meta["ash.window"] == 12
    assert meta["ash.bar_columns"] == list(toy_model.ctx.bar_columns)
    assert meta["ash.horizons"] == [1.0, 10.0, 60.0]
    assert meta["ash.n_buckets"] == 7
    assert meta["ash.horizon_unit"] == "s"
    assert meta["ash.created_by"].startswith("ash ")
    assert meta["ash.reference_price"] == "mid"
    assert isinstance(meta["ash.plugins"], list)
    dims = {
        v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in [*proto.graph.input, *proto.graph.output]
    }
    assert dims == {
        "bars": ["batch", 12, len(toy_model.ctx.bar_columns)],
        "probs": ["batch", 3, 7],
        "edges": ["batch", 3, 8],
    }
    assert proto.opset_import[0].version == 17
    onnx.checker.check_model(proto, full_check=True)


def test_unsupported_operator_names_the_plugin(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as info:
        export_model(ModelWithBadFeature(), tmp_path / "m.onnx", metadata=SERVING_METADATA)
    message = str(info.value)
    assert "feature_builder 'cummax_high'" in message
    assert "at 'extra'" in message
    assert "aten::cummax" in message
    assert not (tmp_path / "m.onnx").exists()


def test_metadata_that_contradicts_the_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"ash.window = 99 contradicts the model, which has 16"):
        export_model(
            ToyContractModel(), tmp_path / "m.onnx", metadata={**SERVING_METADATA, "ash.window": 99}
        )


def test_missing_serving_metadata_is_refused(tmp_path: Path) -> None:
    meta = {k: v for k, v in SERVING_METADATA.items() if k != "ash.timezone"}
    with pytest.raises(ExportError, match=r"missing-metadata:ash.timezone"):
        export_model(ToyContractModel(), tmp_path / "m.onnx", metadata=meta)


def test_wrong_output_shape_is_refused_before_export(tmp_path: Path) -> None:
    class Bad(ToyContractModel):
        def forward(self, bars: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            probs, edges = super().forward(bars)
            return probs[:, :1], edges

    with pytest.raises(ExportError, match=r"returns probs of shape \[2, 1, 9\].*\[2, 3, 9\]"):
        export_model(Bad(), tmp_path / "m.onnx", metadata=SERVING_METADATA)


def test_a_model_breaking_the_contract_is_not_accepted(tmp_path: Path) -> None:
    from ash.export.violations import ContractViolationError

    with pytest.raises(ContractViolationError, match="edges-not-increasing"):
        export_model(
            ToyContractModel(reverse_edges=True), tmp_path / "m.onnx", metadata=SERVING_METADATA
        )


def test_variants_are_valid_and_fp16_is_within_its_tolerance(tmp_path: Path) -> None:
    model = ToyContractModel(layers=1).eval()
    result = export_model(model, tmp_path / "model.onnx", metadata=SERVING_METADATA, fp16=True)
    assert set(result.latency_ms) == {"onnx", "ort"}
    for stats in result.latency_ms.values():
        assert 0 < stats["p50_ms"] <= stats["p99_ms"]
    # The ORT variant is written and validated first; it is kept only if it was faster.
    if result.ort_path is not None:
        assert validate_model(result.ort_path) == []
    assert result.fp16_path == tmp_path / "model.fp16.onnx"
    assert validate_model(result.fp16_path) == []
    proto = onnx.load_model(str(result.fp16_path))
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in proto.graph.initializer)
    windows = synthetic_bars(model.ctx.bar_columns, model.window, 80, seed=3)
    report = check_parity(model, result.fp16_path, windows, tolerance=FP16_PARITY_TOLERANCE)
    assert report.ok


def test_outer_edges_are_the_shared_sentinel() -> None:
    from ash.components.discretizers.base import OUTER_EDGE_BPS as COMPONENTS_SENTINEL

    assert COMPONENTS_SENTINEL == OUTER_EDGE_BPS == 10000.0


def test_exported_model_runs_at_many_batch_sizes(
    toy_onnx: Path, toy_model: ToyContractModel
) -> None:
    from ash.onnx_io import cpu_session

    session = cpu_session(toy_onnx)
    for batch in (1, 3, 64, 257):
        bars = synthetic_bars(toy_model.ctx.bar_columns, toy_model.window, batch, seed=batch)
        probs, edges = session.run(None, {"bars": bars})
        assert probs.shape == (batch, 3, 7)
        assert edges.shape == (batch, 3, 8)
        np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
