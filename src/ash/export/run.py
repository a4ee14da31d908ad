"""``ash export RUN``: export a trained run folder's final model to ``RUN/model.onnx``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ash.bars.columns import BAR_COLUMNS_VERSION
from ash.data.windows import gather_windows
from ash.export.contract import (
    FP16_PARITY_TOLERANCE,
    KEY_BAR_COLUMNS_VERSION,
    KEY_CONTEXT_SYMBOL,
    KEY_DATA_FINGERPRINT,
    KEY_EXPERIMENT,
    KEY_GAP_POLICY,
    KEY_GAP_SECONDS,
    KEY_METRICS,
    KEY_REFERENCE_PRICE,
    KEY_TIMEZONE,
)
from ash.export.exporter import ExportResult, export_model
from ash.export.parity import ParityReport, check_parity
from ash.export.synthetic import synthetic_bars
from ash.pipeline import cache_dir, prepare_data
from ash.runs import experiments_root, load_model

MODEL_FILE = "model.onnx"
PARITY_WINDOWS = 128


@dataclass
class RunExport:
    result: ExportResult
    parity: ParityReport | None = None
    fp16_parity: ParityReport | None = None
    windows_source: str = ""  # which bar windows the parity check ran on


def validation_windows(
    run_dir: Path, resolved: Any, window: int, columns: tuple[str, ...], n: int = PARITY_WINDOWS
) -> np.ndarray | None:
    """Up to ``n`` real windows from the run's validation split, when its bar cache exists.

    Returns None when the run's bars are not cached on this machine (a copied run folder);
    any other failure to read them is an error.
    """
    fingerprint = (_read_json(run_dir / "meta.json") or {}).get("data_fingerprint")
    root = experiments_root()
    if not isinstance(fingerprint, str) or not (cache_dir(root) / f"{fingerprint}.npz").is_file():
        return None
    prepared = prepare_data(resolved, window, root)
    if tuple(prepared.bars.columns) != tuple(columns):
        raise ValueError(
            f"the cached bars of {run_dir} have columns {prepared.bars.columns}, the model "
            f"expects {columns}"
        )
    ends = prepared.samples.val if len(prepared.samples.val) else prepared.samples.test
    if len(ends) == 0:
        return None
    picked = ends[np.linspace(0, len(ends) - 1, min(n, len(ends))).round().astype(int)]
    return np.asarray(gather_windows(prepared.bars.values, picked, window), dtype=np.float32)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.is_file() else None


def run_metadata(run_dir: Path, resolved: Any) -> dict[str, Any]:
    """Contract keys from the run's resolved experiment, meta.json and metrics.json."""
    exp = resolved.experiment
    meta = _read_json(run_dir / "meta.json") or {}
    metrics = _read_json(run_dir / "metrics.json") or {}
    found: dict[str, Any] = {
        KEY_BAR_COLUMNS_VERSION: meta.get("bar_columns_version", BAR_COLUMNS_VERSION),
        KEY_REFERENCE_PRICE: exp.bars.reference,
        KEY_TIMEZONE: exp.bars.timezone,
        KEY_GAP_SECONDS: exp.bars.gap_seconds,
        KEY_GAP_POLICY: exp.bars.gap_policy,
        KEY_EXPERIMENT: exp.name,
        KEY_METRICS: metrics.get("val", {}) if isinstance(metrics, dict) else {},
    }
    if isinstance(meta.get("data_fingerprint"), str):
        found[KEY_DATA_FINGERPRINT] = meta["data_fingerprint"]
    if exp.data.context_symbol is not None:
        found[KEY_CONTEXT_SYMBOL] = exp.data.context_symbol
    return found


def export_run(
    run_dir: str | Path,
    *,
    validate: bool = True,
    optimize: bool = True,
    fp16: bool = False,
    windows: np.ndarray | None = None,
) -> RunExport:
    """Export ``RUN/checkpoints/model.pt`` to ``RUN/model.onnx``; parity when ``validate``.

    Parity runs on ``windows`` (``[N, window, C]``) when given, else on up to 128 windows of
    the run's validation split (from its bar cache), else on realistic synthetic windows
    (docs/contract.md §6); ``RunExport.windows_source`` says which.
    """
    run_dir = Path(run_dir)
    model, resolved = load_model(run_dir)
    opset = int(resolved.experiment.export.opset)
    result = export_model(
        model,
        run_dir / MODEL_FILE,
        metadata=run_metadata(run_dir, resolved),
        opset=opset,
        optimize=optimize,
        fp16=fp16,
    )
    out = RunExport(result)
    if validate:
        source = "given windows"
        if windows is None:
            windows = validation_windows(
                run_dir, resolved, model.window, tuple(model.ctx.bar_columns)
            )
            source = "the run's validation bars"
        if windows is None:
            source = "synthetic bars (the run's bar cache is not on this machine)"
            windows = synthetic_bars(
                model.ctx.bar_columns,
                model.window,
                PARITY_WINDOWS,
                bar_seconds=model.ctx.bar_seconds,
                seed=7,
            )
        out.windows_source = f"{len(windows)} windows of {source}"
        out.parity = check_parity(model, result.path, windows)
        if result.fp16_path is not None:
            out.fp16_parity = check_parity(
                model, result.fp16_path, windows, tolerance=FP16_PARITY_TOLERANCE
            )
    return out
