"""Shared test helpers: a tiny synthetic experiment and a registry that knows ``synthetic``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

import ash.registry as registry_mod
from ash.config.resolve import ResolvedExperiment, resolve

REPO = Path(__file__).resolve().parents[2]

TINY: dict[str, Any] = {
    "name": "tiny",
    "seed": 3,
    "data": {
        "source": {
            "kind": "synthetic",
            "n_days": 2,
            "session_close": "10:00:00",
            "options": False,
            "context_symbol": None,
            "oracle_samples": 8,
        },
        "symbols": ["SYN"],
    },
    "bars": {"session": "09:30-10:00"},
    "horizons": [1, 5, 30],
    "model": {
        "steps": 8,
        "features": [
            {"kind": "returns", "lookbacks": [1, 5, 10]},
            {"kind": "realized_vol", "windows": [10, 30]},
        ],
        "backbone": {"kind": "gru", "hidden": 16, "dropout": 0.1},
        "discretizer": {"kind": "log_return", "n_buckets": 15, "range_bps": 10.0},
        "head": {"dropout": 0.1},
    },
    "train": {
        "epochs": 2,
        "batch_size": 64,
        "lr": 0.003,
        "max_train_samples": 640,
        "checkpoint_every_steps": 3,
        "threads": 1,
        "patience": 5,
    },
    "evaluate": {"max_samples": 400, "oracle_max_samples": 150, "fan_chart_bars": 120},
}


def ensure_synthetic_registered() -> None:
    """Make the process-wide registry know the ``synthetic`` source (until it is built in)."""
    registry = registry_mod.get_registry()
    if "synthetic" in registry.names("source"):
        return
    from ash import hookimpl
    from ash.registry import PluginInfo, load_registry
    from ash.synthetic.source import SyntheticSource

    class _Plugin:
        @staticmethod
        @hookimpl
        def register_sources(register: Any) -> None:
            register(SyntheticSource)

    info = PluginInfo(name="synthetic-test", distribution="ash", version="test", module=__name__)
    registry_mod._DEFAULT = load_registry(extra_plugins=[(_Plugin, info)])


def tiny_experiment(**train: Any) -> ResolvedExperiment:
    ensure_synthetic_registered()
    raw = yaml.safe_load(yaml.safe_dump(TINY))
    raw["train"].update(train)
    return resolve(raw)


def write_tiny(path: Path, **train: Any) -> Path:
    raw = yaml.safe_load(yaml.safe_dump(TINY))
    raw["train"].update(train)
    path.write_text(yaml.safe_dump(raw))
    return path
