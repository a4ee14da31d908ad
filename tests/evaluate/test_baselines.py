"""Baselines: climatology counts, EWMA recurrence, lattice snapping, P&L bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

from ash.evaluate import baselines as b
from ash.evaluate.pnl import non_overlapping, positions, simulate
from ash.evaluate.run import gap_closed, longest_run


def test_climatology_counts_bucket_ids_with_prior() -> None:
    ids = np.array([[0, 1], [0, -1], [2, 1]])
    clim = b.climatology(ids, 3, prior=0.5)
    np.testing.assert_allclose(clim[0], np.array([2.5, 0.5, 1.5]) / 4.5)
    np.testing.assert_allclose(clim[1], np.array([0.5, 2.5, 0.5]) / 3.5)


def test_ewma_variance_matches_the_recurrence() -> None:
    rng = np.random.default_rng(1)
    r = rng.normal(size=700)
    seg = np.r_[np.zeros(400, dtype=np.int64), np.ones(300, dtype=np.int64)]
    decay, init = 0.97, 2.0
    fast = b.ewma_variance(r, seg, decay, init)
    slow = np.empty_like(r)
    for t in range(len(r)):
        prev = init if t == 0 or seg[t] != seg[t - 1] else slow[t - 1]
        slow[t] = decay * prev + (1 - decay) * r[t] ** 2
    np.testing.assert_allclose(fast, slow, rtol=1e-9)


def test_gaussian_bucket_probs_sum_to_one_and_have_a_floor() -> None:
    edges = np.array([[-1e4, -2.0, -1.0, 1.0, 2.0, 1e4]])
    p = b.gaussian_bucket_probs(edges, np.array([0.1]))
    assert p.sum() == pytest.approx(1.0)
    assert p.min() >= b.FLOOR / 5
    assert p[0, 2] > 0.99


def test_lattice_snapping_moves_edges_to_lattice_midpoints() -> None:
    # lattice step 0.6 bps: points 0, ±0.6, ±1.2 …; an edge at 0.5 → (ceil(0.5/0.6) - ½)·0.6
    snapped = b.snap_to_lattice(np.array([-0.5, 0.5, 0.7]), np.array(0.6))
    np.testing.assert_allclose(snapped, [-0.3, 0.3, 0.9])


def test_lattice_step_is_half_a_cent_for_a_cent_tick_mid() -> None:
    mid = 100.0 + 0.005 * np.cumsum(np.random.default_rng(0).integers(-1, 2, size=5000))
    assert b.lattice_step(mid) == pytest.approx(0.005)


def test_ewma_fit_recovers_a_gaussian_scale() -> None:
    rng = np.random.default_rng(2)
    n = 6000
    one_bar = rng.normal(scale=2.0, size=n)
    seg = np.zeros(n, dtype=np.int64)
    ref = np.full(n, 100.0)
    ends = np.arange(100, n - 10)
    fwd = one_bar[ends + 1]  # horizon of one bar
    edges = np.broadcast_to(np.r_[-1e4, np.linspace(-8, 8, 17), 1e4], (len(ends), 1, 19)).copy()
    ids = np.searchsorted(edges[0, 0, 1:-1], fwd, side="right")[:, None]
    fit = b.fit_ewma_gaussian(one_bar, seg, ref, ends, edges, ids, (1,), lattice=False)
    assert fit.scales[0] == pytest.approx(1.0, abs=0.06)


def test_ewma_fit_finds_a_scale_between_grid_points() -> None:
    # forward returns 1.5x wider than the one-bar EWMA says: the fitted scale must say so
    rng = np.random.default_rng(3)
    n = 6000
    one_bar = rng.normal(scale=2.0, size=n)
    ends = np.arange(100, n - 10)
    fwd = rng.normal(scale=3.0, size=len(ends))
    edges = np.broadcast_to(np.r_[-1e4, np.linspace(-12, 12, 25), 1e4], (len(ends), 1, 27)).copy()
    ids = np.searchsorted(edges[0, 0, 1:-1], fwd, side="right")[:, None]
    seg, ref = np.zeros(n, dtype=np.int64), np.full(n, 100.0)
    fit = b.fit_ewma_gaussian(one_bar, seg, ref, ends, edges, ids, (1,), lattice=False)
    assert fit.scales[0] == pytest.approx(1.5, rel=0.05)


def test_pnl_positions_and_costs() -> None:
    edges = np.array([-3.0, -1.0, 1.0, 3.0])
    probs = np.array([[0.1, 0.2, 0.7], [0.7, 0.2, 0.1], [0.3, 0.4, 0.3]])
    side = positions(probs, np.broadcast_to(edges, (3, 4)), threshold=0.55)
    np.testing.assert_array_equal(side, [1, -1, 0])
    out = simulate(
        probs,
        np.broadcast_to(edges, (3, 4)),
        np.array([2.0, 1.0, 5.0]),
        np.array([0, 1, 2]),
        1,
        threshold=0.55,
        cost_bps=0.5,
    )
    assert out["trades"] == 2
    assert out["mean_gross_bps"] == pytest.approx((2.0 - 1.0) / 2)
    assert out["mean_net_bps"] == pytest.approx(0.0)
    assert out["hit_rate"] == pytest.approx(0.5)


def test_non_overlapping_keeps_samples_a_horizon_apart() -> None:
    keep = non_overlapping(np.array([0, 1, 2, 5, 6, 11]), 5)
    np.testing.assert_array_equal(keep, [True, False, False, True, False, True])


def test_gap_closed_and_longest_run() -> None:
    assert gap_closed(3.0, 2.5, 2.0) == pytest.approx(0.5)
    assert np.isnan(gap_closed(2.0, 2.5, 2.0))
    np.testing.assert_array_equal(longest_run(np.array([1, 2, 3, 7, 8]), 2), [1, 2])
    np.testing.assert_array_equal(longest_run(np.array([1, 2, 5, 6, 7]), 9), [5, 6, 7])
