"""The contract validator: every way a model breaks contract v1, with stable codes.

Third parties call :func:`validate_model` (a list of violations, empty when the model is valid) or
:func:`check_model` (raises with all of them). The Rust runtime implements the same checks with
the same codes (docs/contract.md §6); both read shapes and metadata through ONNX Runtime, so they
agree on what a "dynamic" or "fixed" dimension is. Both refuse models whose tensors live in
external data files (the contract is one self-contained file) and models whose declared sizes
would need more memory than a budget to check, before allocating anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort

from ash.export.contract import (
    EDGES_NAME,
    INPUT_NAME,
    KEY_BAR_COLUMNS,
    KEY_BAR_SECONDS,
    KEY_HORIZONS,
    KEY_N_BUCKETS,
    KEY_WINDOW,
    MAX_OPSET,
    MIN_OPSET,
    OUTER_EDGE_BPS,
    OUTPUT_NAMES,
    PROBS_NAME,
    PROBS_SUM_TOLERANCE,
)
from ash.export.external import external_tensors
from ash.export.metadata import check_metadata
from ash.export.synthetic import synthetic_bars
from ash.export.violations import ContractViolationError, Violation
from ash.onnx_io import cpu_session

FLOAT32 = "tensor(float)"
RUN_BATCHES: tuple[int, ...] = (1, 16)
# Memory the run checks may need for their inputs and outputs (the Rust runtime's
# DEFAULT_MEMORY_BUDGET): a model declaring a window of 1e9 bars is refused, not allocated.
DEFAULT_MEMORY_BUDGET_BYTES = 256 << 20
FLOAT_BYTES = 4


def validate_model(
    path: str | Path, *, memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES
) -> list[Violation]:
    """Check ``path`` against contract v1; every violation found, ``[]`` when it is valid."""
    path = Path(path)
    if not path.is_file():
        return [Violation("unloadable", f"{path} does not exist or is not a file")]
    proto = _parse(path)
    external = external_tensors(proto) if proto is not None else []
    if external:
        return [_external_data_violation(path, external)]
    session, problem = _load(path)
    if session is None:
        return [Violation("unloadable", problem)]
    violations = _check_opset(proto) if proto is not None else []
    meta, meta_violations = check_metadata(session.get_modelmeta().custom_metadata_map)
    violations += meta_violations
    violations += _check_io(session, meta)
    violations += _check_budget(meta, memory_budget_bytes)
    if not violations:
        violations += _check_run(session, meta)
    return violations


def check_model(
    path: str | Path, *, memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES
) -> None:
    """Raise :class:`ContractViolationError` listing every violation of ``path``."""
    violations = validate_model(path, memory_budget_bytes=memory_budget_bytes)
    if violations:
        raise ContractViolationError(str(path), violations)


def _parse(path: Path) -> onnx.ModelProto | None:
    """The model's protobuf without external data; ``None`` when it does not parse (ONNX
    Runtime then reports why it cannot load the file)."""
    try:
        return onnx.load_model(str(path), load_external_data=False)
    except Exception:  # protobuf raises DecodeError and others for a file that is not ONNX
        return None


def _external_data_violation(path: Path, names: list[str]) -> Violation:
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return Violation(
        "external-data",
        f"{path} keeps {len(names)} tensor(s) in external data files ({shown}); a contract model "
        "is one self-contained file: save it with onnx.save_model(model, path, "
        "save_as_external_data=False)",
    )


def required_bytes(window: int, n_columns: int, n_horizons: int, n_buckets: int) -> int:
    """Bytes of the run checks' input and outputs at the largest run batch."""
    per_window = window * n_columns + n_horizons * (2 * n_buckets + 1)
    return FLOAT_BYTES * max(RUN_BATCHES) * per_window


def _check_budget(meta: dict[str, Any], budget: int) -> list[Violation]:
    """Declared sizes that would need more than ``budget`` bytes to run are refused up front."""
    keys = (KEY_WINDOW, KEY_BAR_COLUMNS, KEY_HORIZONS, KEY_N_BUCKETS)
    if any(k not in meta for k in keys):
        return []  # already reported as missing or bad
    window, columns = meta[KEY_WINDOW], len(meta[KEY_BAR_COLUMNS])
    horizons, buckets = len(meta[KEY_HORIZONS]), meta[KEY_N_BUCKETS]
    need = required_bytes(window, columns, horizons, buckets)
    if need <= budget:
        return []
    return [
        Violation(
            "over-memory-budget",
            f"checking the model needs {need:,} bytes for batch {max(RUN_BATCHES)} (window "
            f"{window} x {columns} columns in, {horizons} horizons x {buckets} buckets out), over "
            f"the validator's memory budget of {budget:,} bytes; a model this large is almost "
            "certainly mis-declared (check ash.window and ash.n_buckets), or raise the budget "
            "(--memory-budget-mb)",
        )
    ]


def _load(path: Path) -> tuple[ort.InferenceSession | None, str]:
    try:
        return cpu_session(path.read_bytes()), ""
    except Exception as exc:  # ORT raises several exception types for a bad file
        first_line = _first_line(exc).rstrip(".")
        return None, (
            f"ONNX Runtime cannot load {path} ({path.stat().st_size} bytes): {first_line}. "
            "Either the file is truncated, corrupt or not an ONNX model (export it again), or it "
            "uses an operator or opset this ONNX Runtime does not support"
        )


def _check_opset(proto: onnx.ModelProto) -> list[Violation]:
    """The default-domain opset must lie in the contract's range (docs/contract.md §2)."""
    versions = {entry.domain: entry.version for entry in proto.opset_import}
    version = versions.get("", versions.get("ai.onnx"))
    if version is None:
        return [Violation("unsupported-opset", "the model declares no default-domain opset")]
    if not MIN_OPSET <= version <= MAX_OPSET:
        return [
            Violation(
                "unsupported-opset",
                f"default-domain opset {version} is outside the supported range "
                f"{MIN_OPSET}-{MAX_OPSET}; export with opset {MIN_OPSET}..{MAX_OPSET}",
            )
        ]
    return []


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _expected_dims(meta: dict[str, Any]) -> dict[str, list[tuple[str, int | None, str]]]:
    """Per tensor: (axis label, expected fixed size or None when unknown, what it comes from)."""
    window = meta.get(KEY_WINDOW)
    columns = meta.get(KEY_BAR_COLUMNS)
    horizons = meta.get(KEY_HORIZONS)
    buckets = meta.get(KEY_N_BUCKETS)
    n_cols = len(columns) if columns is not None else None
    n_h = len(horizons) if horizons is not None else None
    return {
        INPUT_NAME: [
            ("window", window, KEY_WINDOW),
            ("columns", n_cols, f"len({KEY_BAR_COLUMNS})"),
        ],
        PROBS_NAME: [
            ("horizons", n_h, f"len({KEY_HORIZONS})"),
            ("buckets", buckets, KEY_N_BUCKETS),
        ],
        EDGES_NAME: [
            ("horizons", n_h, f"len({KEY_HORIZONS})"),
            ("buckets", buckets + 1 if buckets is not None else None, f"{KEY_N_BUCKETS} + 1"),
        ],
    }


def _check_io(session: ort.InferenceSession, meta: dict[str, Any]) -> list[Violation]:
    inputs = {arg.name: arg for arg in session.get_inputs()}
    outputs = {arg.name: arg for arg in session.get_outputs()}
    found: list[Violation] = []
    if INPUT_NAME not in inputs:
        found.append(
            Violation(
                f"missing-input:{INPUT_NAME}",
                f"the graph has no input named {INPUT_NAME!r} "
                f"(inputs: {', '.join(inputs) or 'none'})",
            )
        )
    found += [
        Violation(
            f"unexpected-input:{name}",
            f"graph input {name!r} is not part of the contract; the only input is {INPUT_NAME!r}",
        )
        for name in inputs
        if name != INPUT_NAME
    ]
    for name in OUTPUT_NAMES:
        if name not in outputs:
            found.append(
                Violation(
                    f"missing-output:{name}",
                    f"the graph has no output named {name!r} "
                    f"(outputs: {', '.join(outputs) or 'none'})",
                )
            )
    found += [
        Violation(
            f"unexpected-output:{name}",
            f"graph output {name!r} is not part of the "
            f"contract; the outputs are {', '.join(OUTPUT_NAMES)}",
        )
        for name in outputs
        if name not in OUTPUT_NAMES
    ]
    expected = _expected_dims(meta)
    for name, arg in {**inputs, **outputs}.items():
        if name in expected:
            found += _check_tensor(name, arg.type, arg.shape, expected[name])
    return found


def _check_tensor(
    name: str, dtype: str, shape: Any, axes: list[tuple[str, int | None, str]]
) -> list[Violation]:
    found: list[Violation] = []
    if dtype != FLOAT32:
        found.append(
            Violation(
                f"dtype:{name}", f"{name} has type {dtype}, the contract needs {FLOAT32} (float32)"
            )
        )
    if not isinstance(shape, list) or len(shape) != 3:
        rank = len(shape) if isinstance(shape, list) else "unknown"
        found.append(
            Violation(
                f"rank:{name}", f"{name} has rank {rank} (shape {shape}); the contract needs rank 3"
            )
        )
        return found
    if isinstance(shape[0], int):
        found.append(
            Violation(
                f"batch-not-dynamic:{name}",
                f"{name} has a fixed batch "
                f"dimension {shape[0]}; dimension 0 must be dynamic (export with "
                "a dynamic 'batch' axis)",
            )
        )
    for (axis, want, source), got in zip(axes, shape[1:], strict=True):
        if want is None:
            continue  # the metadata it compares with is already reported as missing/bad
        if got != want:
            kind = "a dynamic" if not isinstance(got, int) else f"size {got}"
            found.append(
                Violation(
                    f"dim:{name}.{axis}",
                    f"{name} {axis} axis has {kind}; it must be the fixed size {want} ({source})",
                )
            )
    return found


def _check_run(session: ort.InferenceSession, meta: dict[str, Any]) -> list[Violation]:
    columns = meta[KEY_BAR_COLUMNS]
    n_h, k = len(meta[KEY_HORIZONS]), meta[KEY_N_BUCKETS]
    reported: dict[str, Violation] = {}
    for batch in RUN_BATCHES:
        bars = synthetic_bars(
            columns, meta[KEY_WINDOW], batch, bar_seconds=meta[KEY_BAR_SECONDS], seed=batch
        )
        try:
            probs, edges = session.run(list(OUTPUT_NAMES), {INPUT_NAME: bars})
        except Exception as exc:  # any ORT failure on valid input is a violation
            reported.setdefault(
                "run-failed",
                Violation(
                    "run-failed",
                    f"ONNX Runtime failed on valid bars at batch {batch}: {_first_line(exc)}",
                ),
            )
            continue
        for v in _check_outputs(np.asarray(probs), np.asarray(edges), batch, n_h, k, meta):
            reported.setdefault(v.code, v)
    return list(reported.values())


def _where(index: tuple[Any, ...], batch: int, meta: dict[str, Any]) -> str:
    b, h = int(index[0]), int(index[1])
    return f"batch size {batch}, window {b}, horizon {h} ({meta[KEY_HORIZONS][h]}s)"


def _check_outputs(
    probs: np.ndarray, edges: np.ndarray, batch: int, n_h: int, k: int, meta: dict[str, Any]
) -> list[Violation]:
    found: list[Violation] = []
    shapes_ok = True
    for name, arr, want in (
        (PROBS_NAME, probs, (batch, n_h, k)),
        (EDGES_NAME, edges, (batch, n_h, k + 1)),
    ):
        if arr.shape != want:
            shapes_ok = False
            found.append(
                Violation(
                    f"output-shape:{name}",
                    f"at batch size {batch} {name} has "
                    f"shape {list(arr.shape)}, expected {list(want)}",
                )
            )
    if not shapes_ok:
        return found
    found += _check_probs(probs.astype(np.float64), batch, meta)
    found += _check_edges(edges.astype(np.float64), batch, meta)
    return found


def _check_probs(probs: np.ndarray, batch: int, meta: dict[str, Any]) -> list[Violation]:
    bad = ~np.isfinite(probs)
    if bad.any():
        idx = tuple(np.argwhere(bad)[0])
        return [
            Violation(
                "probs-not-finite",
                f"probs has {int(bad.sum())} non-finite values, "
                f"e.g. {probs[idx]} at {_where(idx, batch, meta)}, bucket {idx[2]}",
            )
        ]
    found: list[Violation] = []
    out = (probs < 0) | (probs > 1)
    if out.any():
        idx = tuple(np.argwhere(out)[0])
        found.append(
            Violation(
                "probs-out-of-range",
                f"probs has {int(out.sum())} values outside "
                f"[0, 1], e.g. {probs[idx]:.6g} at {_where(idx, batch, meta)}, "
                f"bucket {idx[2]}",
            )
        )
    error = np.abs(probs.sum(axis=-1) - 1.0)
    if (error > PROBS_SUM_TOLERANCE).any():
        idx = np.unravel_index(int(np.argmax(error)), error.shape)
        found.append(
            Violation(
                "probs-not-normalized",
                f"probs rows must sum to 1 within "
                f"{PROBS_SUM_TOLERANCE:g}; {int((error > PROBS_SUM_TOLERANCE).sum())}"
                f" rows do not, worst sums to {probs[idx].sum():.6g} at "
                f"{_where(idx, batch, meta)}",
            )
        )
    return found


def _check_edges(edges: np.ndarray, batch: int, meta: dict[str, Any]) -> list[Violation]:
    bad = ~np.isfinite(edges)
    if bad.any():
        idx = tuple(np.argwhere(bad)[0])
        return [
            Violation(
                "edges-not-finite",
                f"edges has {int(bad.sum())} non-finite values, "
                f"e.g. {edges[idx]} at {_where(idx, batch, meta)}, edge {idx[2]}; use "
                f"the sentinels ±{OUTER_EDGE_BPS:g} for open-ended buckets",
            )
        ]
    found: list[Violation] = []
    step = np.diff(edges, axis=-1)
    if (step <= 0).any():
        idx = tuple(np.argwhere(step <= 0)[0])
        found.append(
            Violation(
                "edges-not-increasing",
                f"edges must be strictly increasing; at "
                f"{_where(idx, batch, meta)} edge {idx[2]} = {edges[idx]:.6g} and "
                f"edge {idx[2] + 1} = {edges[idx[0], idx[1], idx[2] + 1]:.6g}",
            )
        )
    low_ok = edges[..., 0] == -OUTER_EDGE_BPS
    high_ok = edges[..., -1] == OUTER_EDGE_BPS
    if not (low_ok.all() and high_ok.all()):
        idx = tuple(np.argwhere(~(low_ok & high_ok))[0])
        found.append(
            Violation(
                "edges-sentinel",
                f"outer edges must be exactly "
                f"-{OUTER_EDGE_BPS:g} and +{OUTER_EDGE_BPS:g}; at "
                f"{_where(idx, batch, meta)} they are {edges[idx][0]:.6g} and "
                f"{edges[idx][-1]:.6g}",
            )
        )
    return found
