"""Reference decoding (docs/contract.md §4): properties every consumer must reproduce."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ash.export.contract import OUTER_EDGE_BPS
from ash.export.decode import effective_edges, quantile, summarize


@st.composite
def rows(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(2, 30))
    weights = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=k, max_size=k)))
    if weights.sum() <= 0:
        weights[0] = 1.0
    steps = np.array(draw(st.lists(st.floats(0.05, 50.0), min_size=k - 1, max_size=k - 1)))
    start = draw(st.floats(-500.0, 500.0))
    inner = start + np.concatenate([[0.0], np.cumsum(steps[:-1])]) if k > 2 else np.array([start])
    edges = np.concatenate([[-OUTER_EDGE_BPS], inner, [OUTER_EDGE_BPS]])
    return weights / weights.sum(), edges


@given(rows())
def test_up_flat_and_down_split_the_mass(row: tuple[np.ndarray, np.ndarray]) -> None:
    probs, edges = row
    s = summarize(probs, edges)
    assert 0.0 <= s.p_up <= 1.0 + 1e-12
    assert 0.0 <= s.p_flat <= 1.0 + 1e-12
    assert s.p_up + s.p_flat + s.p_down == pytest.approx(1.0, abs=1e-9)


@given(rows())
def test_quantiles_are_monotone_and_inside_effective_edges(
    row: tuple[np.ndarray, np.ndarray],
) -> None:
    probs, edges = row
    f = effective_edges(edges)
    levels = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]
    values = [quantile(probs, f, q) for q in levels]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(values))
    assert f[0] - 1e-9 <= values[0] and values[-1] <= f[-1] + 1e-9
    mean = summarize(probs, edges).mean_bps
    assert f[0] - 1e-9 <= mean <= f[-1] + 1e-9


def test_symmetric_distribution_is_centred() -> None:
    edges = np.array([-OUTER_EDGE_BPS, -1.5, -0.5, 0.5, 1.5, OUTER_EDGE_BPS])
    probs = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    s = summarize(probs, edges)
    assert s.mean_bps == pytest.approx(0.0)
    # The central bucket [-0.5, 0.5) holds a zero return: it is P(flat), not split.
    assert (s.p_up, s.p_flat, s.p_down) == pytest.approx((0.3, 0.4, 0.3))
    assert s.quantiles[0.5] == pytest.approx(0.0)
    # Effective outer buckets mirror their inner neighbour: [-2.5, -1.5] and [1.5, 2.5].
    assert effective_edges(edges)[[0, -1]].tolist() == [-2.5, 2.5]
    assert s.quantiles[0.05] == pytest.approx(-2.0)


def test_two_buckets_use_one_bp_outer_width() -> None:
    s = summarize(np.array([0.25, 0.75]), np.array([-OUTER_EDGE_BPS, 0.0, OUTER_EDGE_BPS]))
    assert s.mean_bps == pytest.approx(0.25)
    # An edge at exactly 0: a zero return falls into [0, +inf), so that bucket is flat.
    assert (s.p_up, s.p_flat, s.p_down) == pytest.approx((0.0, 0.75, 0.25))


def test_bad_level_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        quantile(np.array([0.5, 0.5]), np.array([-1.0, 0.0, 1.0]), 1.0)
