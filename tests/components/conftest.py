"""Fixtures for component tests.

``reference_bars`` is the bar source of the feature reference tests. It is synthetic by default
(:func:`ash.testing.make_bars`); point ``ASH_REFERENCE_BARS`` at an ``.npz`` file with ``bars``
(float32 ``[B, T, C]``) and ``columns`` (the bar column names) to run the same tests on real
bars, e.g. SPY bars written by the data pipeline. Columns the file lacks (e.g. option-surface and
context columns for a trades+quotes source) are filled from synthetic bars, so every builder runs:
real columns stay real.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from ash.interfaces import ModelContext
from ash.testing import make_bars
from ash.testing.bars import ALL_COLUMNS


@pytest.fixture(scope="session")
def reference_bars() -> tuple[ModelContext, torch.Tensor]:
    path = os.environ.get("ASH_REFERENCE_BARS")
    if path:
        data = np.load(path, allow_pickle=False)
        columns = tuple(str(c) for c in data["columns"])
        real = torch.as_tensor(data["bars"], dtype=torch.float32)
        if real.dim() == 2:
            real = real.unsqueeze(0)
        bars = make_bars(real.shape[0], real.shape[1], ALL_COLUMNS, seed=11)
        for i, name in enumerate(columns):
            if name in ALL_COLUMNS:
                bars[:, :, ALL_COLUMNS.index(name)] = real[:, :, i]
        return ModelContext(ALL_COLUMNS, 1.0, (1.0, 60.0)), bars
    return ModelContext(ALL_COLUMNS, 1.0, (1.0, 60.0)), make_bars(2, 2400, ALL_COLUMNS, seed=11)
