"""Parity: PyTorch vs ONNX Runtime, per horizon; a mismatch names the horizon and window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ash.export.parity import ParityError, check_parity
from ash.export.synthetic import synthetic_bars
from ash.export.toy import ToyContractModel


def _windows(model: ToyContractModel, n: int = 80) -> np.ndarray:
    return synthetic_bars(model.ctx.bar_columns, model.window, n, seed=11)


def test_exported_model_matches_pytorch(toy_model: ToyContractModel, toy_onnx: Path) -> None:
    report = check_parity(toy_model, toy_onnx, _windows(toy_model))
    assert report.ok
    assert [h.horizon for h in report.horizons] == [0, 1, 2]
    assert report.max_abs_diff <= 1e-5
    assert {h.worst_batch_size for h in report.horizons} <= {1, 64}
    assert "parity ok" in report.describe()


class Drifted(ToyContractModel):
    """The toy with a tweak on one window and one horizon, to fake a PyTorch/ONNX mismatch."""

    def forward(self, bars: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        probs, edges = super().forward(bars)
        marker = (bars[:, 0, 0] == self.marked).to(probs.dtype)[:, None]
        shift = torch.zeros_like(probs)
        shift[:, 2, 0] = 1e-3
        shift[:, 2, 1] = -1e-3
        return probs + marker[:, :, None] * shift, edges


def test_mismatch_names_horizon_and_worst_window(
    toy_model: ToyContractModel, toy_onnx: Path
) -> None:
    windows = _windows(toy_model)
    drifted = Drifted(window=12, horizons=(1.0, 10.0, 60.0), n_buckets=7, layers=1)
    drifted.load_state_dict(toy_model.state_dict())
    drifted.marked = float(windows[37, 0, 0])
    assert (windows[:, 0, 0] == drifted.marked).sum() == 1
    with pytest.raises(ParityError) as info:
        check_parity(drifted, toy_onnx, windows)
    message = str(info.value)
    assert "horizon 2 (60.0s)" in message
    assert "worst input window 37" in message
    report = info.value.report
    assert not report.ok
    assert report.worst().horizon == 2
    assert report.horizons[0].max_abs_diff <= 1e-5


def test_bad_windows_are_refused(toy_model: ToyContractModel, toy_onnx: Path) -> None:
    with pytest.raises(ValueError, match=r"\[N, window, columns\]"):
        check_parity(toy_model, toy_onnx, np.zeros((5, 12)))
