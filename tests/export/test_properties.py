"""Property: any contract-conforming model shape exports, validates and keeps parity."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ash.bars.columns import CORE_COLUMNS
from ash.export.exporter import export_model
from ash.export.fixtures import SERVING_METADATA
from ash.export.parity import check_parity
from ash.export.synthetic import synthetic_bars
from ash.export.toy import ToyContractModel
from ash.export.validate import validate_model


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    window=st.integers(2, 40),
    n_columns=st.integers(1, len(CORE_COLUMNS)),
    horizons=st.lists(st.integers(1, 900), min_size=1, max_size=8, unique=True).map(sorted),
    n_buckets=st.integers(2, 60),
    bar_seconds=st.sampled_from([0.5, 1.0, 5.0]),
)
def test_any_shape_exports_and_validates(
    window: int, n_columns: int, horizons: list[int], n_buckets: int, bar_seconds: float
) -> None:
    columns = ("mid", *[c for c in CORE_COLUMNS if c != "mid"][: n_columns - 1])
    model = ToyContractModel(
        window=window,
        bar_columns=columns,
        bar_seconds=bar_seconds,
        horizons=tuple(float(h) for h in horizons),
        n_buckets=n_buckets,
    ).eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        export_model(model, path, metadata=SERVING_METADATA, optimize=False)
        assert validate_model(path) == []
        windows = synthetic_bars(columns, window, 65, bar_seconds=bar_seconds, seed=window)
        assert check_parity(model, path, windows).ok
