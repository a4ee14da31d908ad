"""Metrics against hand-computed values, and properties every proper score must have."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ash.evaluate import metrics as m

P = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
Y = np.array([0, 2])


def test_nll_by_hand() -> None:
    assert m.nll(P, Y) == pytest.approx(-(math.log(0.7) + math.log(0.6)) / 2)


def test_brier_by_hand() -> None:
    # row 1: 0.3² + 0.2² + 0.1² = 0.14; row 2: 0.1² + 0.3² + 0.4² = 0.26
    assert m.brier(P, Y) == pytest.approx(0.20)


def test_rps_by_hand() -> None:
    # row 1: CDF (0.7, 0.9) vs (1, 1) -> 0.09 + 0.01; row 2: (0.1, 0.4) vs (0, 0) -> 0.01 + 0.16
    assert m.rps(P, Y) == pytest.approx((0.10 + 0.17) / 2)


def test_ece_by_hand() -> None:
    # both rows are right; confidences 0.7 and 0.6 fall in different bins
    assert m.ece(P, Y, bins=10) == pytest.approx((0.3 + 0.4) / 2)
    rel = m.reliability(P, Y, bins=10)
    assert rel.count.sum() == 2
    assert np.nansum(rel.accuracy) == pytest.approx(2.0)


def test_ece_of_a_wrong_confident_forecast() -> None:
    p = np.array([[0.9, 0.05, 0.05]])
    assert m.ece(p, np.array([1]), bins=10) == pytest.approx(0.9)


def test_randomized_pit_by_hand() -> None:
    values = m.pit(P, Y, np.array([0.5, 0.5]))
    np.testing.assert_allclose(values, [0.35, 0.4 + 0.3])
    assert m.pit(P, Y, np.array([0.0, 0.999]))[0] == 0.0


def test_entropy_and_moments_by_hand() -> None:
    uniform = np.full((1, 4), 0.25)
    assert m.entropy(uniform) == pytest.approx(math.log(4))
    mean, std = m.moments(np.array([[0.5, 0.0, 0.5]]), np.array([-1.0, 0.0, 1.0]))
    assert mean[0] == pytest.approx(0.0)
    assert std[0] == pytest.approx(1.0)


def test_directional_accuracy_ignores_zero_moves() -> None:
    acc, coverage = m.directional_accuracy(
        np.array([1.0, -1.0, 1.0, 0.0]), np.array([2.0, 3.0, 0.0, 1.0])
    )
    assert acc == pytest.approx(0.5)
    assert coverage == pytest.approx(0.5)


def test_bad_inputs_are_precise_errors() -> None:
    with pytest.raises(ValueError, match=r"target bucket ids must lie in 0\.\.2"):
        m.nll(P, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"probs must be \[N, K\]"):
        m.nll(P[0], Y)
    with pytest.raises(ValueError, match="no samples to score"):
        m.score_horizon(np.zeros((0, 3)), np.zeros(0, dtype=np.int64))


def _distributions(k: int) -> st.SearchStrategy[np.ndarray]:
    return st.lists(st.floats(0.01, 1.0), min_size=k, max_size=k).map(
        lambda v: np.asarray(v) / np.sum(v)
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 12).flatmap(lambda k: st.tuples(_distributions(k), st.integers(0, k - 1))))
def test_perfect_forecast_scores_zero_and_every_score_is_nonnegative(
    case: tuple[np.ndarray, int],
) -> None:
    p, y = case
    k = len(p)
    perfect = np.eye(k)[[y]]
    targets = np.array([y])
    assert m.rps(perfect, targets) == 0.0
    assert m.brier(perfect, targets) == 0.0
    assert m.nll(perfect, targets) == pytest.approx(0.0)
    assert m.rps(p[None], targets) >= 0.0
    assert m.brier(p[None], targets) >= 0.0
    assert 0.0 <= m.pit(p[None], targets, np.array([0.5]))[0] <= 1.0
    # the truth itself beats any other forecast in expected NLL and RPS (propriety)
    expected_nll_truth = -(p * np.log(p)).sum()
    uniform = np.full(k, 1.0 / k)
    expected_nll_uniform = -(p * np.log(uniform)).sum()
    assert expected_nll_truth <= expected_nll_uniform + 1e-12


def test_pit_of_a_calibrated_forecaster_is_uniform() -> None:
    rng = np.random.default_rng(0)
    n, k = 20000, 7
    logits = rng.normal(size=(n, k)) * 2
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = (rng.random((n, 1)) > np.cumsum(p, axis=1)).sum(axis=1)  # a draw from each row
    values = m.pit(p, y, rng.random(n))
    assert m.pit_ks(values) < 0.02  # KS 99 % critical value at n = 20000 is ~0.0115
    assert m.ece(p, y) < 0.02
    counts = m.pit_histogram(values, 10)
    assert counts.sum() == n
    assert counts.min() > 0.9 * n / 10


def test_paired_difference_error_bar_sees_autocorrelation() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    b = rng.normal(size=n)
    iid = b + 0.01 + rng.normal(size=n)
    mean, se = m.paired_difference(iid, b)
    assert mean == pytest.approx(0.01, abs=3 * se)
    assert se == pytest.approx(1 / np.sqrt(n), rel=0.5)  # independent samples: the usual se
    # overlapping windows: each difference persists for 500 samples; the naive se would be
    # ~20x too small, batch means must not be
    persistent = b + np.repeat(rng.normal(size=n // 500), 500)
    _, se_slow = m.paired_difference(persistent, b)
    assert se_slow > 5 * np.std(persistent - b) / np.sqrt(n)
    # too few samples for 20 blocks: a mean but no error bar
    short_mean, short_se = m.paired_difference(np.ones(10), np.zeros(10))
    assert short_mean == 1.0 and np.isnan(short_se)
