"""The forecast table (ash.evaluate.forecasts): layout, decoding, realized columns, Parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ash.decoding import summarize
from ash.evaluate.forecasts import forecast_frame, write_forecasts

EDGES = np.array([-10000.0, -1.0, 1.0, 10000.0])


def _inputs() -> tuple[np.ndarray, np.ndarray]:
    probs = np.array([[[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]], [[0.6, 0.3, 0.1], [1 / 3, 1 / 3, 1 / 3]]])
    return probs, np.broadcast_to(EDGES, (2, 2, 4)).copy()


def test_rows_are_bar_major_and_each_row_is_the_decoded_distribution() -> None:
    probs, edges = _inputs()
    ts = np.array([1_381_154_400_000_000_000, 1_381_154_401_000_000_000])
    frame = forecast_frame(ts, ["SPY", "QQQ"], [1.0, 60.0], probs, edges, quantiles=(0.5,))
    assert list(frame.columns) == [
        "bar_ts", "symbol", "horizon_s", "mean_bps", "p_up", "p_flat", "p_down", "q0.5",
    ]  # fmt: skip
    assert frame.symbol.tolist() == ["SPY", "SPY", "QQQ", "QQQ"]
    assert frame.horizon_s.tolist() == [1.0, 60.0, 1.0, 60.0]
    assert frame.bar_ts.iloc[2] == pd.Timestamp("2013-10-07 14:00:01", tz="UTC")
    for row, (n, h) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        want = summarize(probs[n, h], edges[n, h], (0.5,))
        got = frame.iloc[row]
        assert (got.mean_bps, got.p_up, got.p_flat, got.p_down, got["q0.5"]) == pytest.approx(
            (want.mean_bps, want.p_up, want.p_flat, want.p_down, want.quantiles[0.5])
        )


def test_realized_columns_give_the_probability_of_the_realized_bucket(tmp_path: Path) -> None:
    probs, edges = _inputs()
    frame = forecast_frame(
        [0, 1],
        ["SPY", "SPY"],
        [1.0, 60.0],
        probs,
        edges,
        bucket_probs=True,
        realized_bps=np.array([[0.0, 2.5], [-3.0, np.nan]]),
        realized_bucket=np.array([[1, 2], [0, -1]]),
    )
    assert frame.p_realized.iloc[:3].tolist() == pytest.approx([0.5, 0.8, 0.6])
    assert np.isnan(frame.p_realized.iloc[3]) and frame.realized_bucket.iloc[3] == -1
    back = pd.read_parquet(write_forecasts(frame, tmp_path / "deep" / "f.parquet"))
    pd.testing.assert_frame_equal(
        back.drop(columns=["probs", "edges"]), frame.drop(columns=["probs", "edges"])
    )
    assert np.allclose(np.stack(back.probs.to_numpy()), probs.reshape(4, 3))


def test_mismatched_shapes_are_refused() -> None:
    probs, edges = _inputs()
    with pytest.raises(ValueError, match="do not match 3 horizons"):
        forecast_frame([0, 1], ["A", "B"], [1.0, 2.0, 3.0], probs, edges)
    with pytest.raises(ValueError, match="one bar_ts and one symbol per forecast row"):
        forecast_frame([0], ["A", "B"], [1.0, 2.0], probs, edges)


def test_the_top_level_package_names_the_api_lazily() -> None:
    import ash

    assert callable(ash.load_model) and callable(ash.read_ticks)
    with pytest.raises(AttributeError, match="no attribute 'load_everything'"):
        _ = ash.load_everything  # type: ignore[attr-defined]
