"""An exported contract-v1 model as a forecaster, through ONNX Runtime only (no torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ash.api.forecaster import Forecaster
from ash.jobs.replay import contract_model, onnx_outputs, run_session
from ash.onnx_io import cpu_session
from ash.runtime import resolve_model


class OnnxForecaster(Forecaster):
    """``model.onnx`` (or a run folder's): the same forecasts as ``ash-serve`` would serve."""

    def __init__(self, path: Path, *, session: str | None = None, threads: int = 1) -> None:
        self.session = cpu_session(path, threads=threads)
        declared = contract_model(path, session, self.session)
        self.path = declared.path
        self.spec = declared.spec
        self.columns = declared.columns
        self.window = declared.window
        self.horizons_s = declared.horizons_s

    def outputs(self, values: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return onnx_outputs(self.session, values, ends, self.window)


def load_model(path: str | Path, *, session: str | None = None, threads: int = 1) -> OnnxForecaster:
    """An exported model (a ``.onnx`` file, or a run folder holding ``model.onnx``).

    ``session``: the local trading window (``"HH:MM-HH:MM"``) the bars keep; a run folder's own
    ``bars.session`` by default (the model file does not record it).
    """
    where = Path(path)
    if session is None and where.is_dir():
        session = run_session(where)
    return OnnxForecaster(resolve_model(where), session=session, threads=threads)
