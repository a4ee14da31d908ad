"""Option chain snapshots -> option-surface columns."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ash.bars.builder import build_bars
from ash.bars.columns import OPTION_COLUMNS
from ash.bars.surface import surface_updates

TS = pd.Timestamp("2013-10-07 14:00:00", tz="UTC")


def chain(
    iv_of: dict[int, float] | None = None, smile: float = 0.0, at: pd.Timestamp = TS
) -> pd.DataFrame:
    """Expiries at 5, 20, 60, 120 days; strikes 80..120 around spot 100; both rights."""
    iv_of = iv_of or {5: 0.2, 20: 0.2, 60: 0.2, 120: 0.2}
    rows = []
    for days, base in iv_of.items():
        for strike in range(80, 121, 5):
            for right in ("C", "P"):
                rows.append(
                    {
                        "ts": at,
                        "underlying": "SPY",
                        "expiry": at + pd.Timedelta(days=days),
                        "strike": float(strike),
                        "right": right,
                        "bid": 1.0,
                        "ask": 1.1,
                        "iv": base + smile * (strike / 100 - 1),
                        "delta": 0.5 if right == "C" else -0.5,
                        "gamma": 0.01,
                        "vega": 0.1,
                        "theta": -0.02,
                        "volume": 10.0 if right == "C" else 30.0,
                        "open_interest": 100.0 if right == "C" else 300.0,
                    }
                )
    return pd.DataFrame(rows)


def spot(price: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    return np.array([TS.value - 10**9], dtype=np.int64), np.array([price])


def test_flat_surface_and_aggregates() -> None:
    out = surface_updates(chain(), *spot())
    assert list(out.columns) == ["ts", *OPTION_COLUMNS] and len(out) == 1
    row = out.iloc[0]
    for c in OPTION_COLUMNS:
        if c.startswith(("iv_", "atm_iv_")):
            assert row[c] == pytest.approx(0.2), c
    assert row["term_slope"] == pytest.approx(0.0, abs=1e-12)
    assert row["oi_delta"] == pytest.approx((100 * 0.5 - 300 * 0.5) / 400)
    assert row["pc_volume_ratio"] == pytest.approx(3.0) and row["pc_oi_ratio"] == pytest.approx(3.0)


def test_smile_and_term_structure_interpolation() -> None:
    out = surface_updates(chain({5: 0.30, 20: 0.20, 60: 0.20, 120: 0.10}, smile=-0.5), *spot())
    row = out.iloc[0]
    # 7 days lies between the 5d and 20d expiries: linear in total variance
    w = 0.09 * 5 + (0.04 * 20 - 0.09 * 5) * (7 - 5) / 15
    assert row["atm_iv_7d"] == pytest.approx(math.sqrt(w / 7))
    assert row["iv_k090_30d"] == pytest.approx(0.20 + 0.05)  # smile: -0.5 * (0.9 - 1)
    assert row["term_slope"] == pytest.approx(row["atm_iv_90d"] - row["atm_iv_7d"])


def test_unknowns_are_nan_and_errors_are_precise() -> None:
    # spot 130: moneyness grid falls outside the strikes -> NaN, no extrapolation
    row = surface_updates(chain(), *spot(130.0)).iloc[0]
    assert math.isnan(row["atm_iv_30d"]) and math.isnan(row["iv_k100_7d"])
    no_spot = surface_updates(chain(), np.array([TS.value + 1], dtype=np.int64), np.array([100.0]))
    assert math.isnan(no_spot.iloc[0]["atm_iv_7d"]) and not math.isnan(no_spot.iloc[0]["oi_gamma"])
    with pytest.raises(ValueError, match="lack columns"):
        surface_updates(chain().drop(columns=["iv"]), *spot())
    with pytest.raises(ValueError, match="several underlyings"):
        surface_updates(chain().assign(underlying=["SPY", "QQQ"] * 36), *spot())


def test_surface_updates_feed_the_builder() -> None:
    updates = surface_updates(chain(), *spot())
    trades = pd.DataFrame(
        {
            "ts": [TS + pd.Timedelta(seconds=s) for s in (0.5, 2.5)],
            "price": [100.0, 100.1],
            "size": [1.0, 2.0],
        }
    )
    bars = build_bars(trades, surface=updates)
    assert bars.column("atm_iv_30d").tolist() == pytest.approx([0.2, 0.2, 0.2])
    assert bars.stats.accepted_surface == 1
