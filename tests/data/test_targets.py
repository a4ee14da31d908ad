"""Forward log-return targets: formula, segment/data ends, horizons in bars, reference price."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ash.data.targets import forward_returns_bps, reference_column, targets_for
from ash.interfaces import horizon_bars
from tests.bars.factory import synthetic_bars


def test_formula_and_nan_outside_segment() -> None:
    ref = np.array([100.0, 101.0, 102.0, 50.0, 51.0])
    seg = np.array([0, 0, 0, 1, 1])
    r = forward_returns_bps(ref, seg, [1, 2])
    assert r[0, 0] == pytest.approx(1e4 * math.log(101 / 100))
    assert r[0, 1] == pytest.approx(1e4 * math.log(102 / 100))
    assert np.isnan(r[2, 0]) and np.isnan(r[1, 1])  # would cross into segment 1
    assert r[3, 0] == pytest.approx(1e4 * math.log(51 / 50))
    assert np.isnan(r[4]).all()  # end of data
    assert np.isnan(forward_returns_bps(ref, seg, [10])).all()


def test_horizons_round_to_whole_bars() -> None:
    assert horizon_bars([1, 5, 0.4, 600], 1.0) == (1, 5, 1, 600)
    assert horizon_bars([1, 0.25], 0.1) == (10, 2)
    with pytest.raises(ValueError, match="positive"):
        horizon_bars([0], 1.0)


def test_bad_reference_prices_are_errors() -> None:
    with pytest.raises(ValueError, match="bar 1"):
        forward_returns_bps(np.array([1.0, 0.0]), np.zeros(2, dtype=np.int64), [1])
    with pytest.raises(ValueError, match=">= 1"):
        forward_returns_bps(np.array([1.0, 2.0]), np.zeros(2, dtype=np.int64), [0])
    with pytest.raises(ValueError, match="must be equal"):
        forward_returns_bps(np.array([1.0, 2.0]), np.zeros(3, dtype=np.int64), [1])


def test_reference_auto_uses_mid_only_with_quotes() -> None:
    quoted, unquoted = synthetic_bars([5]), synthetic_bars([5], has_quotes=False)
    assert reference_column(quoted) == "mid"
    assert reference_column(unquoted) == "close"
    assert reference_column(quoted, "close") == "close"
    with pytest.raises(ValueError, match="reference"):
        reference_column(quoted, "vwap")  # type: ignore[arg-type]
    t = targets_for(quoted, [1.0, 2.0])
    mid = quoted.column("mid")
    assert t.reference == "mid" and t.horizon_bars == (1, 2)
    np.testing.assert_allclose(t.returns_bps[:3, 1], 1e4 * np.log(mid[2:] / mid[:3]))
