"""Shared pieces of the tuning tests: a small experiment, fake trainer and fake latency."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from torch import nn

from ash.config.schema import TuneConfig
from ash.tune.latency import LatencyResult

# A complete experiment that validates without any data (the fakes never read it).
BASE: dict[str, Any] = {
    "name": "tiny",
    "seed": 0,
    "data": {"source": {"kind": "duckdb", "path": "unused.duckdb"}, "symbols": ["SYN"]},
    "horizons": [1, 10],
    "model": {
        "steps": 8,
        "features": [{"kind": "returns", "lookbacks": [1, 5]}],
        "backbone": {"kind": "transformer", "d_model": 16, "n_layers": 1, "n_heads": 2},
        "discretizer": {"kind": "log_return", "n_buckets": 11},
    },
    "train": {"epochs": 2, "batch_size": 32, "device": "cpu"},
    "tune": {
        "space": {
            "model.backbone.d_model": {"type": "int", "low": 8, "high": 64, "step": 8},
            "train.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        },
        "trials": 6,
        "budget": {"p99_ms": 1.0, "measure_on": "onnxruntime"},
        "heartbeat_interval_s": 1,
        "grace_period_s": 2,
    },
}


def write_experiment(path: Path, data: Mapping[str, Any] = BASE) -> Path:
    path.write_text(yaml.safe_dump(dict(data), sort_keys=False))
    return path


@pytest.fixture
def experiment_file(tmp_path: Path) -> Path:
    return write_experiment(tmp_path / "tiny.yaml")


def fake_latency(d_model_per_ms: float = 32.0):  # type: ignore[no-untyped-def]
    """Latency grows with d_model: d_model / d_model_per_ms milliseconds (deterministic)."""

    def measure(model: nn.Module, metadata: Mapping[str, Any], path: Path, tune: TuneConfig):  # type: ignore[no-untyped-def]
        d_model = model.backbone.config.d_model
        p99 = d_model / d_model_per_ms
        return LatencyResult(p99 / 2, p99, "onnxruntime", 1, 1, 10, 0.01, 0.01)

    return measure


@dataclass
class FakeResult:
    run_dir: Path
    val_metrics: dict[str, float]
    model: Any = None
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FakeTrainer:
    """Metric = (log10(lr) + 3)^2 + d_model / 1000; records calls; writes the run dir."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    epochs: int = 2

    def __call__(
        self, resolved: Any, *, run_dir: Path, on_epoch: Any, progress: bool
    ) -> FakeResult:
        import math

        exp = resolved.experiment
        d_model = resolved.component("model.backbone").config.d_model
        metric = (math.log10(exp.train.lr) + 3) ** 2 + d_model / 1000
        self.calls.append({"lr": exp.train.lr, "d_model": d_model, "pid": os.getpid()})
        run_dir.mkdir(parents=True, exist_ok=True)
        for epoch in range(self.epochs):
            on_epoch(epoch, {"nll": metric + (self.epochs - epoch - 1) * 0.1})
        return FakeResult(run_dir, {"nll": metric, "brier": metric / 2})
