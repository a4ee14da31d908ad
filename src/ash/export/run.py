"""``ash export RUN``: export a trained run folder's final model to ``RUN/model.onnx``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ash.export.contract import (
    FP16_PARITY_TOLERANCE,
    KEY_BAR_COLUMNS_VERSION,
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

MODEL_FILE = "model.onnx"
PARITY_WINDOWS = 128


@dataclass
class RunExport:
    result: ExportResult
    parity: ParityReport | None = None
    fp16_parity: ParityReport | None = None


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.is_file() else None


def run_metadata(run_dir: Path, resolved: Any) -> dict[str, Any]:
    """Contract keys from the run's resolved experiment, meta.json and metrics.json."""
    from ash.bars.columns import BAR_COLUMNS_VERSION

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

    Parity runs on ``windows`` (real bar windows ``[N, window, C]``) when given, else on
    realistic synthetic windows (docs/contract.md §6).
    """
    from ash.runs import load_model

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
        if windows is None:
            windows = synthetic_bars(
                model.ctx.bar_columns,
                model.window,
                PARITY_WINDOWS,
                bar_seconds=model.ctx.bar_seconds,
                seed=7,
            )
        out.parity = check_parity(model, result.path, windows)
        if result.fp16_path is not None:
            out.fp16_parity = check_parity(
                model, result.fp16_path, windows, tolerance=FP16_PARITY_TOLERANCE
            )
    return out
