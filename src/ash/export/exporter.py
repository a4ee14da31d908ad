"""Export any assembled model to an ONNX file that honours contract v1 (docs/contract.md).

``forward(bars) -> (probs, edges)`` is traced with the TorchScript exporter (stable graphs, fast,
opset 17; the dynamo exporter needs more time per model for no gain on these graphs), with a
dynamic batch axis and constant folding, then simplified (:mod:`ash.export.simplify`: the shape
arithmetic that the fixed window makes constant is folded away). The fixed axes are then written
into the declared output shapes, the metadata filled, the graph checked with ``onnx.checker``
(full check) and the file validated against the contract. Optional variants: ONNX Runtime's
offline-optimised graph (kept only when it measures faster) and an fp16 graph for GPU serving.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from ash import __version__
from ash.components.families.design import design_matrix
from ash.export.composed import compose_fitted
from ash.export.contract import (
    BATCH_DIM_NAME,
    CONTRACT_VERSION,
    EDGES_NAME,
    EXPORT_OPSET,
    HORIZON_UNIT,
    INPUT_NAME,
    KEY_BAR_COLUMNS,
    KEY_BAR_SECONDS,
    KEY_CONTRACT,
    KEY_CREATED_BY,
    KEY_HORIZON_UNIT,
    KEY_HORIZONS,
    KEY_METRICS,
    KEY_N_BUCKETS,
    KEY_PLUGINS,
    KEY_WINDOW,
    OUTPUT_NAMES,
    PARITY_TOLERANCE,
    PROBS_NAME,
)
from ash.export.diagnose import explain_export_failure
from ash.export.metadata import check_metadata, encode_metadata
from ash.export.optimize import write_fp16_variant, write_ort_variant
from ash.export.parity import cpu_model
from ash.export.provenance import plugins_metadata
from ash.export.simplify import simplify
from ash.export.synthetic import synthetic_bars
from ash.export.validate import check_model
from ash.model import AshModel
from ash.onnx_io import cpu_session, export_onnx


class ExportError(RuntimeError):
    """The model cannot be exported under the contract; the message says why and where."""


@dataclass
class ExportResult:
    path: Path
    ort_path: Path | None = None
    fp16_path: Path | None = None
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)  # variant -> p50/p99


def model_metadata(model: nn.Module) -> dict[str, Any]:
    """Contract keys an assembled model knows about itself (``window``, ``ctx``, ``n_buckets``)."""
    found: dict[str, Any] = {}
    ctx = getattr(model, "ctx", None)
    if ctx is not None:
        found[KEY_BAR_COLUMNS] = list(ctx.bar_columns)
        found[KEY_BAR_SECONDS] = ctx.bar_seconds
        found[KEY_HORIZONS] = list(ctx.horizons)
    for attr, key in (("window", KEY_WINDOW), ("n_buckets", KEY_N_BUCKETS)):
        value = getattr(model, attr, None)
        if isinstance(value, int):
            found[key] = value
    return found


def contract_metadata(model: nn.Module, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults, then what the model knows, then ``metadata``; conflicts and gaps are errors."""
    derived = model_metadata(model)
    merged: dict[str, Any] = {
        KEY_CONTRACT: CONTRACT_VERSION,
        KEY_HORIZON_UNIT: HORIZON_UNIT,
        KEY_CREATED_BY: f"ash {__version__}",
        KEY_PLUGINS: plugins_metadata(model),
        KEY_METRICS: {},
        **derived,
    }
    for key, value in metadata.items():
        if key in derived and derived[key] != value:
            raise ExportError(
                f"metadata {key} = {value!r} contradicts the model, which has {derived[key]!r}"
            )
        merged[key] = value
    _, violations = check_metadata(encode_metadata(merged))
    if violations:
        lines = "\n".join(f"  - {v}" for v in violations)
        raise ExportError(f"the export metadata is incomplete or invalid:\n{lines}")
    return merged


def _example(meta: Mapping[str, Any], batch: int = 2) -> torch.Tensor:
    bars = synthetic_bars(
        meta[KEY_BAR_COLUMNS], meta[KEY_WINDOW], batch, bar_seconds=meta[KEY_BAR_SECONDS]
    )
    return torch.from_numpy(bars)


def _check_forward(model: nn.Module, example: torch.Tensor, meta: Mapping[str, Any]) -> None:
    with torch.no_grad():
        out = model(example)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise ExportError(
            f"{type(model).__name__}.forward must return (probs, edges), got {type(out).__name__}"
        )
    n_h, k = len(meta[KEY_HORIZONS]), meta[KEY_N_BUCKETS]
    batch = example.shape[0]
    for name, tensor, want in (
        (PROBS_NAME, out[0], (batch, n_h, k)),
        (EDGES_NAME, out[1], (batch, n_h, k + 1)),
    ):
        if tuple(tensor.shape) != want:
            raise ExportError(
                f"{type(model).__name__}.forward returns {name} of shape "
                f"{list(tensor.shape)}, the contract needs {list(want)}"
            )


def trace_to_onnx(model: nn.Module, example: torch.Tensor, opset: int) -> onnx.ModelProto:
    """TorchScript export with a dynamic batch axis; names the culprit component on failure."""
    try:
        graph = export_onnx(
            model,
            (example,),
            input_names=[INPUT_NAME],
            output_names=OUTPUT_NAMES,
            opset=opset,
            batch_axis=BATCH_DIM_NAME,
        )
    except Exception as exc:  # any exporter failure: find and name the component
        raise ExportError(explain_export_failure(model, example, opset, exc)) from exc
    return onnx.load_model_from_string(graph)


def fix_io_shapes(proto: onnx.ModelProto, meta: Mapping[str, Any]) -> None:
    """Declare the contract's fixed axes (the tracer leaves reshaped outputs symbolic)."""
    n_h, k = len(meta[KEY_HORIZONS]), meta[KEY_N_BUCKETS]
    dims = {
        INPUT_NAME: (meta[KEY_WINDOW], len(meta[KEY_BAR_COLUMNS])),
        PROBS_NAME: (n_h, k),
        EDGES_NAME: (n_h, k + 1),
    }
    for value in [*proto.graph.input, *proto.graph.output]:
        if value.name not in dims:
            continue
        shape = value.type.tensor_type.shape
        del shape.dim[:]
        shape.dim.add().dim_param = BATCH_DIM_NAME
        for size in dims[value.name]:
            shape.dim.add().dim_value = size


def set_metadata(proto: onnx.ModelProto, meta: Mapping[str, Any]) -> None:
    encoded = encode_metadata(meta)
    kept = [p for p in proto.metadata_props if p.key not in encoded]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    for key, value in sorted(encoded.items()):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


def export_graph(model: nn.Module, example: torch.Tensor, opset: int) -> onnx.ModelProto:
    """The contract graph: traced and simplified, or, for a model with a fitted family, composed
    from the traced feature graph, the family's own fragment and the calibration tail."""
    if not (isinstance(model, AshModel) and model.family is not None):
        return simplify(trace_to_onnx(model, example, opset))
    family = model.family
    try:
        fragment = family.to_onnx(3 * model.n_features, opset)
    except Exception as exc:  # name the family: its converter failed
        raise ExportError(
            f"model family {family.name!r} failed to export: {type(exc).__name__}: {exc}"
        ) from exc
    check_family_export(model, fragment)
    try:
        return compose_fitted(model, fragment, example, opset)
    except Exception as exc:  # name the family: its fragment does not fit the frame
        raise ExportError(
            f"model family {family.name!r} failed to export: {type(exc).__name__}: {exc}"
        ) from exc


def check_family_export(model: AshModel, fragment: onnx.ModelProto, windows: int = 64) -> None:
    """Refuse a fitted family whose ONNX fragment disagrees with its Python predictions, naming
    it: on the design rows of synthetic windows, ``softmax(head)`` from ONNX Runtime and from
    ``family.forward`` must agree within the parity tolerance. (Compared without the prior, which
    can be confident enough to hide a wrong head.)"""
    family = model.family
    assert family is not None
    bars = synthetic_bars(
        model.ctx.bar_columns, model.window, windows, bar_seconds=model.ctx.bar_seconds, seed=11
    )
    with torch.no_grad():
        x = design_matrix(model.raw_features(torch.from_numpy(bars)))
        want = torch.softmax(family(x).double(), -1).numpy()
    try:
        head = cpu_session(fragment.SerializeToString()).run(None, {"x": x.numpy()})[0]
    except Exception as exc:
        raise ExportError(
            f"model family {family.name!r}: ONNX Runtime cannot run its to_onnx fragment "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    got = torch.softmax(torch.from_numpy(np.asarray(head)).double(), -1).numpy()
    diff = float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")
    if not diff <= PARITY_TOLERANCE:
        raise ExportError(
            f"model family {family.name!r}: its ONNX fragment's bucket probabilities differ "
            f"from its Python predictions by {diff:.3g} (> {PARITY_TOLERANCE:g}) on {windows} "
            f"synthetic windows (shapes {list(got.shape)} vs {list(want.shape)}); its to_onnx "
            "does not compute what its forward does"
        )


def export_model(
    model: nn.Module,
    path: str | Path,
    *,
    metadata: Mapping[str, Any],
    opset: int = EXPORT_OPSET,
    optimize: bool = True,
    fp16: bool = False,
    graph: Callable[[nn.Module, torch.Tensor, int], onnx.ModelProto] | None = None,
) -> ExportResult:
    """Write ``path`` (and variants next to it) for ``model``; raises ExportError/violations.

    ``metadata`` holds contract keys (``"ash.reference_price": "mid"``, ...) as Python values;
    keys the model knows (window, bar columns, bar seconds, horizons, buckets), the plugins that
    built it, the contract version and ``ash.created_by`` are filled in and must not conflict.
    The model is switched to eval mode; a model on a GPU is exported from a CPU copy.
    ``graph``: builds the contract graph instead of :func:`export_graph` (an ensemble composes
    its members' graphs); metadata, checks and variants are the same.
    """
    path = Path(path)
    meta = contract_metadata(model, metadata)
    model = cpu_model(model).eval()
    example = _example(meta)
    _check_forward(model, example, meta)
    proto = (graph or export_graph)(model, example, opset)
    fix_io_shapes(proto, meta)
    set_metadata(proto, meta)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"the exported graph fails onnx.checker: {exc}") from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(proto, str(path))
    check_model(path)
    result = ExportResult(path=path)
    if optimize:
        result.ort_path, result.latency_ms = write_ort_variant(path)
    if fp16:
        result.fp16_path = write_fp16_variant(path)
    return result
