"""The Python API (docs/python-api.md): runs and exported models as forecasters for new ticks.

- :func:`load_run` — a trained run folder (PyTorch): build bars, predict, evaluate on dates.
- :func:`load_model` — an exported ``model.onnx`` (ONNX Runtime only, torch is never imported).
- :func:`read_ticks` — one symbol's trades and quotes from a DuckDB store.
- :func:`replay` — ``ash replay``: the store's ticks through ``ash-serve``, checked against Python.

Attributes are imported on first use, so ``import ash.api`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ash.api.onnx_model import OnnxForecaster, load_model
    from ash.api.run import Run, load_run
    from ash.api.ticks import read_ticks
    from ash.jobs.replay import ReplayResult
    from ash.jobs.replay import replay_store as replay

_WHERE = {
    "load_run": ("ash.api.run", "load_run"),
    "Run": ("ash.api.run", "Run"),
    "load_model": ("ash.api.onnx_model", "load_model"),
    "OnnxForecaster": ("ash.api.onnx_model", "OnnxForecaster"),
    "read_ticks": ("ash.api.ticks", "read_ticks"),
    "replay": ("ash.jobs.replay", "replay_store"),
    "ReplayResult": ("ash.jobs.replay", "ReplayResult"),
}

__all__ = [
    "OnnxForecaster",
    "ReplayResult",
    "Run",
    "load_model",
    "load_run",
    "read_ticks",
    "replay",
]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module 'ash.api' has no attribute {name!r}") from None
    return getattr(import_module(module), attr)
