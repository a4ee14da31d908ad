"""The models behind the contract test vectors (:mod:`ash.export.fixtures`): their shapes, the
serving metadata they carry, and the two ways to write one (through the exporter, or raw so that
it can break the contract)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from ash.bars.columns import CORE_COLUMNS, bar_columns
from ash.export.contract import (
    EDGES_NAME,
    INPUT_NAME,
    OUTPUT_NAMES,
    PROBS_NAME,
)
from ash.export.exporter import contract_metadata, export_model, set_metadata
from ash.export.toy import ToyContractModel
from ash.onnx_io import export_onnx

FORMAT_VERSION = 1
N_WINDOWS = 8
HUGE_WINDOW = 1_000_000_000
DEEP_NESTING = 5_000

# (columns, window, batch, bar_seconds, seed) of the shared synthetic-window vectors: the core
# columns, every option column, and context/ratio/open-interest/unknown columns.
SYNTHETIC_CASES: tuple[tuple[tuple[str, ...], int, int, float, int], ...] = (
    (CORE_COLUMNS, 16, 3, 1.0, 0),
    (bar_columns(options=True), 8, 2, 5.0, 16),
    (
        ("mid", "ctx_mid", "ctx_volume", "pc_ratio", "oi_change", "term_slope", "foo", "ctx_bar"),
        32,
        4,
        0.5,
        7,
    ),
)

SERVING_METADATA: dict[str, Any] = {
    "ash.bar_columns_version": 1,
    "ash.reference_price": "mid",
    "ash.timezone": "America/New_York",
    "ash.gap_seconds": 300.0,
    "ash.gap_policy": "reset",
    "ash.experiment": "fixture",
    "ash.data_fingerprint": "synthetic",
    "ash.metrics": {},
}

VALID_MODELS: dict[str, dict[str, Any]] = {
    "w8_c17_h3_k5": {"window": 8, "horizons": (1.0, 5.0, 10.0), "n_buckets": 5},
    "w32_c42_h8_k21": {
        "window": 32,
        "bar_columns": bar_columns(options=True),
        "horizons": (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0),
        "n_buckets": 21,
        "layers": 1,
    },
    "w4_c5_h1_k2": {
        "window": 4,
        "bar_columns": ("mid", "close", "volume", "spread", "session_start"),
        "bar_seconds": 5.0,
        "horizons": (60.0,),
        "n_buckets": 2,
    },
}
# Metadata a valid fixture adds to SERVING_METADATA (a ctx_* model names its context symbol).
VALID_EXTRA_METADATA: dict[str, dict[str, Any]] = {
    "w8_c22_h2_k3_ctx": {"ash.context_symbol": "IDX"},
}
VALID_MODELS["w8_c22_h2_k3_ctx"] = {
    "window": 8,
    "bar_columns": bar_columns(context=True),
    "horizons": (1.0, 5.0),
    "n_buckets": 3,
}
BASE = "w8_c17_h3_k5"


def toy(**overrides: Any) -> ToyContractModel:
    return ToyContractModel(**{**VALID_MODELS[BASE], **overrides})


def save_valid(model: nn.Module, path: Path, extra: dict[str, Any] | None = None) -> None:
    export_model(model, path, metadata={**SERVING_METADATA, **(extra or {})}, optimize=False)


def raw_export(
    model: nn.Module, example: torch.Tensor, path: Path, *, dynamic: bool, opset: int = 17
) -> None:
    """Export without the exporter's safety checks (so the model can break the contract)."""
    graph = export_onnx(
        model,
        (example,),
        input_names=[INPUT_NAME],
        output_names=OUTPUT_NAMES,
        opset=opset,
        batch_axis="batch" if dynamic else None,
    )
    proto = onnx.load_model_from_string(graph)
    meta = contract_metadata(toy(), SERVING_METADATA)
    declare_output_shapes(proto, meta, dynamic=dynamic)
    set_metadata(proto, meta)
    onnx.save_model(proto, str(path))


def declare_output_shapes(proto: onnx.ModelProto, meta: dict[str, Any], *, dynamic: bool) -> None:
    """Declare the outputs' fixed axes as the exporter does, so only the intended flaw shows."""
    n_h, k = len(meta["ash.horizons"]), meta["ash.n_buckets"]
    dims = {PROBS_NAME: (n_h, k), EDGES_NAME: (n_h, k + 1)}
    for value in proto.graph.output:
        shape = value.type.tensor_type.shape
        del shape.dim[:]
        if dynamic:
            shape.dim.add().dim_param = "batch"
        else:
            shape.dim.add().dim_value = 2
        for size in dims[value.name]:
            shape.dim.add().dim_value = size
