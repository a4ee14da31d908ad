"""Design rows (``ash.components.families.design``): the exported graph computes the very bits
torch does, so a tree takes the same branch in Python and in ONNX Runtime."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from ash.components.families import LightGBMFamily, design_matrix
from ash.export.simplify import simplify
from ash.interfaces import FamilyData
from ash.onnx_io import cpu_session, export_onnx
from tests.families.conftest import SMALL


class _Design(nn.Module):
    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        return design_matrix(raw)


def onnx_design(raw: np.ndarray) -> np.ndarray:
    """``design_matrix`` traced to ONNX (simplified as the exporter does) and run by ORT."""
    import onnx

    example = torch.from_numpy(raw[:2])
    graph = export_onnx(_Design(), (example,), input_names=["raw"], output_names=["x"])
    model = simplify(onnx.load_model_from_string(graph))
    return np.asarray(cpu_session(model.SerializeToString()).run(None, {"raw": raw})[0])


def lattice_windows(rows: int, steps: int, seed: int) -> np.ndarray:
    """Price-lattice-like features: one-bar returns of whole ticks (mostly 0), so many windows
    sum to exactly 0 or to the same few values — the clusters LightGBM splits inside."""
    rng = np.random.default_rng(seed)
    ticks = rng.choice([-1, 0, 0, 0, 0, 1], size=(rows, steps, 2)).astype(np.float32)
    scale = np.array([0.5882353, 0.0123457], dtype=np.float32)  # 1 tick in bps at two prices
    level = np.cumsum(ticks, axis=1) * np.float32(0.3)  # a level feature: drifting, repeats
    return np.concatenate([ticks * scale, level], axis=2).astype(np.float32)


@pytest.mark.parametrize("steps", [7, 30, 32])
def test_onnx_design_rows_equal_torch_bit_for_bit(steps: int) -> None:
    raw = lattice_windows(2000, steps, seed=steps)
    want = design_matrix(torch.from_numpy(raw)).numpy()
    got = onnx_design(raw)
    assert got.dtype == want.dtype == np.float32
    assert np.array_equal(got, want), f"{int((got != want).sum())} of {got.size} values differ"


@settings(max_examples=60, deadline=None)
@given(
    value=st.floats(-1e6, 1e6, allow_nan=False, width=32),
    steps=st.integers(1, 70),
)
def test_a_constant_window_has_mean_last_and_zero_std(value: float, steps: int) -> None:
    raw = torch.full((1, steps, 1), value, dtype=torch.float32)
    last, mean, std = design_matrix(raw)[0].tolist()
    assert mean == last == np.float32(value) and std == 0.0


def test_trees_on_exported_design_rows_predict_what_python_predicts() -> None:
    """Trees fitted on exact-zero-heavy lattice windows: the ONNX design rows must route every
    window as torch's do (before the fixed-order sums: 1-ulp-apart means took other branches)."""
    raw = lattice_windows(6000, 32, seed=1)
    x = design_matrix(torch.from_numpy(raw)).numpy()
    y = np.digitize(x[:, 4], [-0.05, -1e-30, 1e-30, 0.05]).astype(np.int64)  # sign of a mean
    data = FamilyData(x, y[:, None], np.zeros((len(x), 1, 5), np.float32))
    family = LightGBMFamily(SMALL.model_copy(update={"min_data_in_leaf": 5}), 1, 5)
    family.fit(data, data)
    with torch.no_grad():
        want = family(torch.from_numpy(x)).numpy()
    fragment = cpu_session(family.to_onnx(x.shape[1], 17).SerializeToString())
    got = fragment.run(None, {"x": onnx_design(raw)})[0]
    assert np.abs(got - want).max() < 1e-5
