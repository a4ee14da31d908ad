"""Language-neutral test vectors for other contract implementations (the Rust runtime).

``python -m ash.export.fixtures OUTDIR`` writes tiny valid models with input windows, expected
ONNX Runtime outputs and decoded summaries, one deliberately broken model per violation with
the exact set of codes a validator must report (including hostile files: a declared window of
1e9 bars, metadata nested 5,000 deep, tensors in an external data file), and the validator's
synthetic windows for a few column sets (both validators must draw them bit for bit alike).
Format: docs/contract.md, "Test vectors".
Every fixture is checked against :func:`ash.export.validate.validate_model` as it is written, so
the manifest is what the Python validator really reports.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from ash.bars.columns import CORE_COLUMNS, bar_columns
from ash.export.contract import (
    CONTRACT_VERSION,
    EDGES_NAME,
    INPUT_NAME,
    OUTPUT_NAMES,
    PARITY_TOLERANCE,
    PROBS_NAME,
    PROBS_SUM_TOLERANCE,
)
from ash.export.decode import DEFAULT_QUANTILES, summarize
from ash.export.exporter import contract_metadata, export_model, set_metadata
from ash.export.synthetic import synthetic_bars
from ash.export.toy import ToyContractModel
from ash.export.validate import validate_model
from ash.onnx_io import cpu_session, export_onnx

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


def _toy(**overrides: Any) -> ToyContractModel:
    return ToyContractModel(**{**VALID_MODELS[BASE], **overrides})


def _save_valid(model: nn.Module, path: Path, extra: dict[str, Any] | None = None) -> None:
    export_model(model, path, metadata={**SERVING_METADATA, **(extra or {})}, optimize=False)


def _raw_export(
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
    meta = contract_metadata(_toy(), SERVING_METADATA)
    _declare_output_shapes(proto, meta, dynamic=dynamic)
    set_metadata(proto, meta)
    onnx.save_model(proto, str(path))


def _declare_output_shapes(proto: onnx.ModelProto, meta: dict[str, Any], *, dynamic: bool) -> None:
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


def _write_invalid(out: Path, base: Path) -> list[dict[str, Any]]:
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
            lambda p: _raw_export(_toy().double(), example.double(), p, dynamic=True),
            ["dtype:bars", "dtype:edges", "dtype:probs"],
        ),
        "wrong_rank": (
            lambda p: _raw_export(_FlatBars(_toy()), example.reshape(2, -1), p, dynamic=True),
            ["rank:bars"],
        ),
        "fixed_batch": (
            lambda p: _raw_export(_toy(), example, p, dynamic=False),
            ["batch-not-dynamic:bars", "batch-not-dynamic:edges", "batch-not-dynamic:probs"],
        ),
        "probs_not_normalized": (
            lambda p: _raw_export(_toy(probs_scale=0.9), example, p, dynamic=True),
            ["probs-not-normalized"],
        ),
        "probs_not_finite": (
            lambda p: _raw_export(_toy(probs_scale=float("nan")), example, p, dynamic=True),
            ["probs-not-finite"],
        ),
        "edges_not_increasing": (
            lambda p: _raw_export(_toy(reverse_edges=True), example, p, dynamic=True),
            ["edges-not-increasing"],
        ),
        "edges_wrong_sentinel": (
            lambda p: _raw_export(_toy(outer_edge=1e9), example, p, dynamic=True),
            ["edges-sentinel"],
        ),
        "edges_not_finite": (
            lambda p: _raw_export(_toy(outer_edge=float("inf")), example, p, dynamic=True),
            ["edges-not-finite"],
        ),
        "opset_too_old": (
            lambda p: _raw_export(_toy(), example, p, dynamic=True, opset=16),
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


def _write_valid(out: Path) -> list[dict[str, Any]]:
    entries = []
    for seed, (name, params) in enumerate(VALID_MODELS.items()):
        model = ToyContractModel(seed=seed, **params)
        path = out / "valid" / f"{name}.onnx"
        _save_valid(model, path, VALID_EXTRA_METADATA.get(name))
        columns = model.ctx.bar_columns
        bars = synthetic_bars(
            columns, model.window, N_WINDOWS, bar_seconds=model.ctx.bar_seconds, seed=100 + seed
        )
        probs, edges = cpu_session(path).run(list(OUTPUT_NAMES), {INPUT_NAME: bars})
        for suffix, array in (("inputs", bars), ("probs", probs), ("edges", edges)):
            np.save(out / "valid" / f"{name}.{suffix}.npy", np.ascontiguousarray(array, "<f4"))
        summaries = [
            [_summary_json(probs[i, h], edges[i, h]) for h in range(probs.shape[1])]
            for i in range(len(bars))
        ]
        entries.append(
            {
                "name": name,
                "model": f"valid/{name}.onnx",
                **{k: f"valid/{name}.{k}.npy" for k in ("inputs", "probs", "edges")},
                "window": model.window,
                "n_columns": len(columns),
                "n_horizons": len(model.ctx.horizons),
                "n_buckets": model.n_buckets,
                "summaries": summaries,
            }
        )
    return entries


def _write_synthetic(out: Path) -> list[dict[str, Any]]:
    """The validator's synthetic windows for each case of SYNTHETIC_CASES."""
    entries = []
    for i, (columns, window, batch, bar_seconds, seed) in enumerate(SYNTHETIC_CASES):
        bars = synthetic_bars(columns, window, batch, bar_seconds=bar_seconds, seed=seed)
        name = f"synthetic/case{i}.npy"
        np.save(out / name, np.ascontiguousarray(bars, "<f4"))
        entries.append(
            {
                "columns": list(columns),
                "window": window,
                "batch": batch,
                "bar_seconds": bar_seconds,
                "seed": seed,
                "bars": name,
            }
        )
    return entries


def _summary_json(probs: np.ndarray, edges: np.ndarray) -> dict[str, Any]:
    s = summarize(probs, edges, DEFAULT_QUANTILES)
    return {
        "mean_bps": s.mean_bps,
        "p_up": s.p_up,
        "p_flat": s.p_flat,
        "p_down": s.p_down,
        "quantiles": {str(q): v for q, v in s.quantiles.items()},
    }


def write_fixtures(out: str | Path) -> dict[str, Any]:
    """Write all fixtures and ``manifest.json`` under ``out``; verify them with the validator."""
    out = Path(out)
    (out / "valid").mkdir(parents=True, exist_ok=True)
    (out / "invalid").mkdir(parents=True, exist_ok=True)
    (out / "synthetic").mkdir(parents=True, exist_ok=True)
    valid = _write_valid(out)
    invalid = _write_invalid(out, out / "valid" / f"{BASE}.onnx")
    manifest = {
        "format": FORMAT_VERSION,
        "contract": CONTRACT_VERSION,
        "probs_sum_tolerance": PROBS_SUM_TOLERANCE,
        "parity_tolerance": PARITY_TOLERANCE,
        "valid": valid,
        "invalid": invalid,
        "synthetic": _write_synthetic(out),
    }
    _self_check(out, manifest)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _self_check(out: Path, manifest: dict[str, Any]) -> None:
    """Fail loudly if the Python validator does not report exactly the manifest's codes."""
    problems = []
    for entry in manifest["valid"]:
        got = validate_model(out / entry["model"])
        if got:
            problems.append(f"valid fixture {entry['name']} is rejected: {got}")
    for entry in manifest["invalid"]:
        codes = sorted(v.code for v in validate_model(out / entry["model"]))
        if codes != entry["expected"]:
            problems.append(
                f"invalid fixture {entry['name']}: expected {entry['expected']}, "
                f"validator reports {codes}"
            )
    if problems:
        raise RuntimeError("fixture self-check failed:\n" + "\n".join(problems))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m ash.export.fixtures OUTDIR", file=sys.stderr)
        return 2
    manifest = write_fixtures(argv[0])
    print(
        f"wrote {len(manifest['valid'])} valid and {len(manifest['invalid'])} invalid models "
        f"to {argv[0]}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
