"""The deliberately broken models of the contract test vectors, each with the exact set of
codes a validator must report (including hostile files: a declared window of 1e9 bars, metadata
nested 5,000 deep, tensors in an external data file)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from ash.bars.columns import CORE_COLUMNS
from ash.export.contract import (
    EDGES_NAME,
    INPUT_NAME,
    PROBS_NAME,
)
from ash.export.fixture_models import (
    DEEP_NESTING,
    HUGE_WINDOW,
    raw_export,
    toy,
)
from ash.export.synthetic import synthetic_bars
from ash.export.toy import ToyContractModel


def _edit(base: Path, path: Path, edit: Callable[[onnx.ModelProto], None]) -> None:
    proto = onnx.load_model(str(base))
    edit(proto)
    onnx.save_model(proto, str(path))


def _set_meta(key: str, raw: str | None) -> Callable[[onnx.ModelProto], None]:
    def edit(proto: onnx.ModelProto) -> None:
        kept = [p for p in proto.metadata_props if p.key != key]
        del proto.metadata_props[:]
        proto.metadata_props.extend(kept)
        if raw is not None:
            proto.metadata_props.add(key=key, value=raw)

    return edit


def _truncate(base: Path, path: Path) -> None:
    path.write_bytes(base.read_bytes()[: base.stat().st_size // 2])


def _write_text(path: Path, text: str) -> None:
    path.write_text(text)


def _huge_window(proto: onnx.ModelProto) -> None:
    """Declare a window of 1e9 bars in the graph and the metadata (consistent, so only the
    memory it would take to check the model is wrong)."""
    proto.graph.input[0].type.tensor_type.shape.dim[1].dim_value = HUGE_WINDOW
    _set_meta("ash.window", str(HUGE_WINDOW))(proto)


def _external_data(base: Path, path: Path) -> None:
    proto = onnx.load_model(str(base))
    onnx.save_model(
        proto,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=path.name + ".data",
        size_threshold=0,
    )


def _rename_input(proto: onnx.ModelProto) -> None:
    proto.graph.input[0].name = "x"
    for node in proto.graph.node:
        for i, name in enumerate(node.input):
            if name == INPUT_NAME:
                node.input[i] = "x"


def _extra_output(proto: onnx.ModelProto) -> None:
    proto.graph.node.append(onnx.helper.make_node("Identity", [PROBS_NAME], ["logits"]))
    proto.graph.output.append(
        onnx.helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, None)
    )


def _drop_edges(proto: onnx.ModelProto) -> None:
    kept = [o for o in proto.graph.output if o.name != EDGES_NAME]
    del proto.graph.output[:]
    proto.graph.output.extend(kept)


class _FlatBars(nn.Module):
    """Takes bars flattened to ``[B, W * C]``: a rank-2 input."""

    def __init__(self, inner: ToyContractModel) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (flat.shape[0], self.inner.window, len(self.inner.ctx.bar_columns))
        out: tuple[torch.Tensor, torch.Tensor] = self.inner(flat.reshape(shape))
        return out


def write_invalid(out: Path, base: Path) -> list[dict[str, Any]]:
    """Write every broken model; return manifest entries (name, model, expected codes)."""
    example = torch.from_numpy(synthetic_bars(CORE_COLUMNS, 8, 2))
    makers: dict[str, tuple[Callable[[Path], None], list[str]]] = {
        "wrong_input_name": (
            lambda p: _edit(base, p, _rename_input),
            ["missing-input:bars", "unexpected-input:x"],
        ),
        "extra_output": (lambda p: _edit(base, p, _extra_output), ["unexpected-output:logits"]),
        "missing_output_edges": (lambda p: _edit(base, p, _drop_edges), ["missing-output:edges"]),
        "missing_metadata_window": (
            lambda p: _edit(base, p, _set_meta("ash.window", None)),
            ["missing-metadata:ash.window"],
        ),
        "missing_metadata_bar_columns": (
            lambda p: _edit(base, p, _set_meta("ash.bar_columns", None)),
            ["missing-metadata:ash.bar_columns"],
        ),
        "bad_metadata_json": (
            lambda p: _edit(base, p, _set_meta("ash.horizons", "[1, 5,")),
            ["bad-metadata-json:ash.horizons"],
        ),
        "unquoted_string_metadata": (
            lambda p: _edit(base, p, _set_meta("ash.reference_price", "mid")),
            ["bad-metadata-json:ash.reference_price"],
        ),
        "bad_metadata_value": (
            lambda p: _edit(base, p, _set_meta("ash.reference_price", '"last"')),
            ["bad-metadata-value:ash.reference_price"],
        ),
        "float_window_metadata": (
            lambda p: _edit(base, p, _set_meta("ash.window", "8.0")),
            ["bad-metadata-value:ash.window"],
        ),
        "bad_plugins_metadata": (
            lambda p: _edit(base, p, _set_meta("ash.plugins", '[{"kind": "backbone"}]')),
            ["bad-metadata-value:ash.plugins"],
        ),
        "empty_context_symbol": (
            lambda p: _edit(base, p, _set_meta("ash.context_symbol", '""')),
            ["bad-metadata-value:ash.context_symbol"],
        ),
        "unsupported_contract": (
            lambda p: _edit(base, p, _set_meta("ash.contract", "2")),
            ["unsupported-contract"],
        ),
        "window_mismatch": (
            lambda p: _edit(base, p, _set_meta("ash.window", "9")),
            ["dim:bars.window"],
        ),
        "columns_mismatch": (
            lambda p: _edit(
                base, p, _set_meta("ash.bar_columns", json.dumps([*CORE_COLUMNS, "x"]))
            ),
            ["dim:bars.columns"],
        ),
        "horizons_mismatch": (
            lambda p: _edit(base, p, _set_meta("ash.horizons", "[1, 5]")),
            ["dim:edges.horizons", "dim:probs.horizons"],
        ),
        "buckets_mismatch": (
            lambda p: _edit(base, p, _set_meta("ash.n_buckets", "6")),
            ["dim:edges.buckets", "dim:probs.buckets"],
        ),
        "wrong_dtype": (
            lambda p: raw_export(toy().double(), example.double(), p, dynamic=True),
            ["dtype:bars", "dtype:edges", "dtype:probs"],
        ),
        "wrong_rank": (
            lambda p: raw_export(_FlatBars(toy()), example.reshape(2, -1), p, dynamic=True),
            ["rank:bars"],
        ),
        "fixed_batch": (
            lambda p: raw_export(toy(), example, p, dynamic=False),
            ["batch-not-dynamic:bars", "batch-not-dynamic:edges", "batch-not-dynamic:probs"],
        ),
        "probs_not_normalized": (
            lambda p: raw_export(toy(probs_scale=0.9), example, p, dynamic=True),
            ["probs-not-normalized"],
        ),
        "probs_not_finite": (
            lambda p: raw_export(toy(probs_scale=float("nan")), example, p, dynamic=True),
            ["probs-not-finite"],
        ),
        "edges_not_increasing": (
            lambda p: raw_export(toy(reverse_edges=True), example, p, dynamic=True),
            ["edges-not-increasing"],
        ),
        "edges_wrong_sentinel": (
            lambda p: raw_export(toy(outer_edge=1e9), example, p, dynamic=True),
            ["edges-sentinel"],
        ),
        "edges_not_finite": (
            lambda p: raw_export(toy(outer_edge=float("inf")), example, p, dynamic=True),
            ["edges-not-finite"],
        ),
        "opset_too_old": (
            lambda p: raw_export(toy(), example, p, dynamic=True, opset=16),
            ["unsupported-opset"],
        ),
        "truncated_file": (
            lambda p: _truncate(base, p),
            ["unloadable"],
        ),
        "not_onnx": (lambda p: _write_text(p, "this is not an ONNX model\n"), ["unloadable"]),
        "huge_window": (lambda p: _edit(base, p, _huge_window), ["over-memory-budget"]),
        "deeply_nested_metrics": (
            lambda p: _edit(
                base,
                p,
                _set_meta("ash.metrics", '{"a":' + "[" * DEEP_NESTING + "]" * DEEP_NESTING + "}"),
            ),
            ["bad-metadata-json:ash.metrics"],
        ),
        "external_data": (lambda p: _external_data(base, p), ["external-data"]),
    }
    entries = []
    for name, (make, expected) in makers.items():
        path = out / "invalid" / f"{name}.onnx"
        make(path)
        entries.append(
            {"name": name, "model": f"invalid/{name}.onnx", "expected": sorted(expected)}
        )
    return entries
