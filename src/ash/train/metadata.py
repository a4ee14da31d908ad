"""``meta.json`` of a run: what the trainer built, on which data (read by export and evaluate)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ash import runs
from ash.config.resolve import ResolvedExperiment
from ash.feature_cache import CachedFeatures, WindowSource, not_cacheable
from ash.model import AshModel
from ash.pipeline import PreparedData, notes
from ash.train.run_info import device_name


def _iso(ts_ns: Any) -> str:
    return str(np.datetime64(int(ts_ns), "ns"))[:23] + "Z"


def run_metadata(
    prepared: PreparedData,
    model: AshModel,
    *,
    experiment: str,
    val_samples_in_training: int,
    fold: int | None,
    device: str,
    precision: str,
    world_size: int,
) -> dict[str, Any]:
    """The run's data fingerprint, bar layout, model shape, splits and training environment."""
    p = prepared
    return {
        "experiment": experiment,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data_fingerprint": p.fingerprint,
        "bar_columns": list(p.bars.columns),
        "bar_seconds": p.bars.bar_seconds,
        "window": model.window,
        "horizons_s": [float(h) for h in p.horizons_s],
        "horizon_bars": list(p.horizon_steps),
        "n_buckets": model.n_buckets,
        "reference_price": p.reference,
        "symbols": list(p.bars.symbols),
        "has_quotes": list(p.bars.has_quotes),
        "n_bars": len(p.bars),
        "samples": {k: len(v) for k, v in p.samples.as_dict().items()},
        "val_samples_in_training": val_samples_in_training,
        "split_times_utc": {
            k: [_iso(p.bars.ts_ns[v[0]]), _iso(p.bars.ts_ns[v[-1]])]
            for k, v in p.samples.as_dict().items()
        },
        "fold": fold,
        "notes": notes(p),
        "n_parameters": sum(x.numel() for x in model.parameters()),
        "device": device,
        "precision": precision,
        "world_size": world_size,
        "torch": torch.__version__,
        "build_stats": p.bars.stats,
    }


def write_run_metadata(
    run_dir: Path,
    resolved: ResolvedExperiment,
    prepared: PreparedData,
    model: AshModel,
    source: WindowSource,
    *,
    val_samples: int,
    fold: int | None,
    device: torch.device,
    amp_dtype: torch.dtype | None,
    world_size: int,
) -> None:
    """Write the run's ``config.yaml`` and ``meta.json`` (main process, before training)."""
    meta = run_metadata(
        prepared,
        model,
        experiment=resolved.experiment.name,
        val_samples_in_training=val_samples,
        fold=fold,
        device=str(device),
        precision=str(amp_dtype or "fp32"),
        world_size=world_size,
    )
    cached = isinstance(source, CachedFeatures)
    meta.update(
        device_name=device_name(device),
        grad_scaler=amp_dtype == torch.float16,
        feature_cache=cached,
        feature_cache_off_reason=None
        if cached
        else (
            "train.feature_cache is false"
            if not resolved.experiment.train.feature_cache
            else not_cacheable(model)
        ),
    )
    runs.write_config(run_dir, resolved)
    runs.write_json(run_dir / runs.META_FILE, meta)
