"""Property tests: the AR(1) filter, canonical asks, and invariants of the oracle's output."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ash.synthetic.config import SyntheticConfig
from ash.synthetic.dynamics import ar1_filter, mid_price, tick_price
from ash.synthetic.oracle import Oracle, bucketize
from ash.synthetic.simulator import Simulator
from ash.synthetic.ticks import canonical_quotes

CFG = SyntheticConfig(n_days=1, session_close=dt.time(10, 0), options=False, oracle_samples=8)
SIM = Simulator(CFG)
ORACLE = Oracle(SIM)
SESSION_NS = round(CFG.session_seconds * 1e9)


@given(
    phi=st.floats(0.0, 0.99999),
    x0=st.floats(-5, 5),
    drive=st.lists(st.floats(-1, 1), min_size=0, max_size=300),
)
def test_ar1_filter_matches_the_recursion(phi: float, x0: float, drive: list[float]) -> None:
    d = np.asarray(drive, dtype=np.float64)
    expected = [x0]
    for v in d:
        expected.append(phi * expected[-1] + v)
    assert np.allclose(ar1_filter(phi, x0, d), expected, rtol=1e-9, atol=1e-9)


@given(
    kb=st.integers(1, 10_000_000),
    n=st.integers(1, 8),
    tick=st.sampled_from([0.01, 0.05, 0.25, 0.001]),
)
def test_canonical_quotes_give_the_canonical_mid(kb: int, n: int, tick: float) -> None:
    mid = mid_price(np.array([2 * kb + n]), tick)
    bid, ask = canonical_quotes(
        tick_price(np.array([kb]), tick), tick_price(np.array([kb + n]), tick), mid
    )
    assert (bid + ask)[0] / 2.0 == mid[0]
    for got, want in ((bid[0], kb * tick), (ask[0], (kb + n) * tick)):
        assert abs(got - want) < 1e-9 * max(1.0, want)  # still the decimal price


edges_strategy = st.lists(st.floats(-50, 50, allow_nan=False), min_size=2, max_size=12, unique=True)


@settings(max_examples=25, deadline=None)
@given(
    offset_ms=st.integers(0, SESSION_NS // 1_000_000),
    horizon=st.sampled_from([0.5, 1.0, 3.0, 20.0, 90.0]),
    inner=edges_strategy,
    symbol=st.sampled_from(["SYN", "IDX"]),
)
def test_probabilities_are_a_distribution_and_additive(
    offset_ms: int, horizon: float, inner: list[float], symbol: str
) -> None:
    ts = np.array([int(SIM.opens_ns[0]) + offset_ms * 1_000_000], dtype=np.int64)
    edges = np.concatenate(([-1e4], np.sort(inner), [1e4]))[None, None, :]
    p = ORACLE.probabilities(symbol, ts, [horizon], edges)[0, 0]
    off = offset_ms * 1_000_000
    fine = round(CFG.fine_step_s * 1e9)
    defined = off >= fine // 2 and off + round(horizon * 1e9) <= SESSION_NS
    if not defined:  # before the first quote, or the target leaves the session
        assert np.isnan(p).all()
        return
    assert (p >= 0).all() and abs(p.sum() - 1.0) < 1e-9
    # merging two neighbouring buckets (dropping an inner edge) adds their probabilities
    drop = 1 + len(inner) // 2
    merged = np.delete(edges, drop, axis=2)
    q = ORACLE.probabilities(symbol, ts, [horizon], merged)[0, 0]
    expected = np.concatenate((p[: drop - 1], [p[drop - 1] + p[drop]], p[drop + 1 :]))
    assert np.allclose(q, expected, atol=1e-12)


def test_the_realized_bucket_is_never_impossible() -> None:
    ts = int(SIM.opens_ns[0]) + np.arange(5, 3000, 3) * 10**9
    horizons = [1, 10, 60]
    edges = np.broadcast_to(
        np.array([-1e4, -3, -1, -0.4, 0, 0.4, 1, 3, 1e4])[None, None, :], (len(ts), 3, 9)
    )
    ll = ORACLE.log_likelihood("SYN", ts, horizons, edges)
    assert np.isfinite(ll[~np.isnan(ll)]).all()
    k = bucketize(ORACLE.realized_returns("SYN", ts, horizons), edges)
    assert ((k >= 0) == ~np.isnan(ll)).all()


def test_bad_oracle_inputs_fail_with_precise_errors() -> None:
    ts = np.array([int(SIM.opens_ns[0]) + 10**10], dtype=np.int64)
    good = np.array([[[-1e4, 0.0, 1e4]]])
    with pytest.raises(KeyError, match="knows symbols"):
        ORACLE.probabilities("AAPL", ts, [1.0], good)
    with pytest.raises(ValueError, match="edges_bps must be"):
        ORACLE.probabilities("SYN", ts, [1.0, 5.0], good)
    with pytest.raises(ValueError, match="strictly increasing"):
        ORACLE.probabilities("SYN", ts, [1.0], np.array([[[-1e4, 1.0, 1.0, 1e4]]]))
    with pytest.raises(ValueError, match="positive seconds"):
        ORACLE.probabilities("SYN", ts, [0.0], good)
    with pytest.raises(TypeError, match="int64 UTC nanoseconds"):
        ORACLE.probabilities("SYN", ts.astype(np.float64), [1.0], good)
    reference = ORACLE.probabilities("SYN", ts, [1.0], good)
    as_datetime = ts.astype("datetime64[ns]")
    assert np.array_equal(ORACLE.probabilities("SYN", as_datetime, [1.0], good), reference)
    as_index = pd.DatetimeIndex(as_datetime).tz_localize("UTC").tz_convert("America/New_York")
    assert np.array_equal(ORACLE.probabilities("SYN", as_index, [1.0], good), reference)
