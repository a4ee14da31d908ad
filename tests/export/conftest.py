"""Shared fixtures: a small exported toy model and the Rust fixture set, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from ash.export.exporter import export_model
from ash.export.fixtures import SERVING_METADATA
from ash.export.toy import ToyContractModel


@pytest.fixture(scope="session")
def toy_model() -> ToyContractModel:
    return ToyContractModel(window=12, horizons=(1.0, 10.0, 60.0), n_buckets=7, layers=1).eval()


@pytest.fixture(scope="session")
def toy_onnx(toy_model: ToyContractModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("toy") / "model.onnx"
    export_model(toy_model, path, metadata=SERVING_METADATA, optimize=False)
    return path
