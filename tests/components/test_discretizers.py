"""Discretizer invariants (hypothesis) and tick-lattice behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ash.components.discretizers import (
    OUTER_EDGE_BPS,
    FixedWidthDiscretizer,
    LatticeDiscretizer,
    LogReturnDiscretizer,
    QuantileDiscretizer,
    VolScaledDiscretizer,
    bucketize,
    centers,
)
from ash.components.discretizers.fixed_width import snap_to_odd_half_ticks
from ash.components.discretizers.quantile import quantile_inner_edges
from ash.interfaces import ModelContext
from ash.testing import make_bars, make_returns
from ash.testing.bars import ALL_COLUMNS

HORIZONS = (1.0, 5.0, 60.0, 600.0)
CTX = ModelContext(ALL_COLUMNS, 1.0, HORIZONS)
BARS = make_bars(2, 400, ALL_COLUMNS, seed=5)
HALF_TICK_BPS = 1e4 * 0.005 / 167.0


def _edges(cls: type, **kw: object) -> torch.Tensor:
    disc = cls(cls.Config(**kw), CTX)
    disc.fit(make_returns(HORIZONS, seed=1))
    with torch.no_grad():
        return disc(BARS).double()


ALL_EDGES = {
    "log_return": lambda **kw: _edges(LogReturnDiscretizer, **kw),
    "quantile": lambda **kw: _edges(QuantileDiscretizer, **kw),
    "vol_scaled": lambda **kw: _edges(VolScaledDiscretizer, **kw),
    "fixed_width": lambda **kw: _edges(FixedWidthDiscretizer, **kw),
    "lattice": lambda **kw: _edges(LatticeDiscretizer, **kw),
}


@pytest.mark.parametrize("name", sorted(ALL_EDGES))
@settings(max_examples=15, deadline=None)
@given(k=st.integers(1, 60).map(lambda i: 2 * i + 1))
def test_edges_strictly_increasing_with_sentinels(name: str, k: int) -> None:
    edges = ALL_EDGES[name](n_buckets=k)
    assert edges.shape == (2, len(HORIZONS), k + 1)
    assert (edges[..., 1:] > edges[..., :-1]).all()
    assert (edges[..., 0] == -OUTER_EDGE_BPS).all() and (edges[..., -1] == OUTER_EDGE_BPS).all()


@pytest.mark.parametrize("name", sorted(ALL_EDGES))
@settings(max_examples=30, deadline=None)
@given(
    returns=st.lists(
        st.one_of(
            st.floats(-1e12, 1e12, allow_nan=False),
            st.floats(-60.0, 60.0, allow_nan=False),
            st.sampled_from([float("inf"), float("-inf"), 0.0, OUTER_EDGE_BPS]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_every_return_maps_to_exactly_one_bucket(name: str, returns: list[float]) -> None:
    edges = ALL_EDGES[name]()[:1, :1].expand(len(returns), 1, -1)
    r = torch.tensor(returns, dtype=torch.float64).view(-1, 1)
    ids = bucketize(r, edges).squeeze(1)
    lo = edges[:, 0, :-1].gather(1, ids.view(-1, 1)).squeeze(1)
    hi = edges[:, 0, 1:].gather(1, ids.view(-1, 1)).squeeze(1)
    k = edges.shape[-1] - 1
    inside = (r.squeeze(1) >= lo) & (r.squeeze(1) < hi)
    outer_low = (ids == 0) & (r.squeeze(1) < hi)
    outer_high = (ids == k - 1) & (r.squeeze(1) >= lo)
    assert ((ids >= 0) & (ids < k)).all()
    assert (inside | outer_low | outer_high).all()
    # Extremes (beyond the sentinels, even ±inf) land in the open outer buckets.
    assert (ids[r.squeeze(1) <= -OUTER_EDGE_BPS] == 0).all()
    assert (ids[r.squeeze(1) >= OUTER_EDGE_BPS] == k - 1).all()


def test_nan_returns_get_id_minus_one() -> None:
    edges = ALL_EDGES["log_return"]()[:1, :1]
    assert bucketize(torch.tensor([[float("nan")]]), edges.float()).item() == -1


def test_bucketize_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="does not match edges shape"):
        bucketize(torch.zeros(2, 3), torch.zeros(2, 4, 5))


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(200, 3000),
    k=st.integers(1, 25).map(lambda i: 2 * i + 1),
    seed=st.integers(0, 10_000),
)
def test_quantile_equal_population_on_continuous_data(n: int, k: int, seed: int) -> None:
    x = np.random.default_rng(seed).standard_t(3, size=n) * 5.0
    edges = quantile_inner_edges(x, k, 0.5).astype(np.float64)
    counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=k)
    assert counts.sum() == n
    assert counts.min() >= np.floor(n / k) - 1 and counts.max() <= np.ceil(n / k) + 1


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(200, 3000),
    k=st.integers(1, 25).map(lambda i: 2 * i + 1),
    seed=st.integers(0, 10_000),
    zero_mass=st.floats(0.0, 0.85),
)
def test_quantile_equal_population_up_to_atoms(n: int, k: int, seed: int, zero_mass: float) -> None:
    """On a tick lattice with a big atom at 0, each target quantile is hit to within one atom,
    no atom is ever split, and no edge sits on an observed value."""
    rng = np.random.default_rng(seed)
    lattice = np.round(rng.standard_normal(n) * 4) * HALF_TICK_BPS
    x = np.where(rng.random(n) < zero_mass, 0.0, lattice)
    edges = quantile_inner_edges(x, k, 0.5).astype(np.float64)
    assert len(edges) == k - 1 and np.all(np.diff(edges) > 0)
    assert not np.isin(edges, x).any()
    _, atom_counts = np.unique(x, return_counts=True)
    below = np.searchsorted(np.sort(x), edges, side="left")
    for i in range(1, k):
        target = i * n / k
        assert np.min(np.abs(below - target)) <= atom_counts.max()


def test_quantile_with_fewer_values_than_buckets_adds_empty_tail_buckets() -> None:
    x = np.array([0.0] * 50 + [0.3] * 20 + [-0.3] * 20)
    edges = quantile_inner_edges(x, 11, 0.5)
    assert len(edges) == 10 and np.all(np.diff(edges) > 0)
    ids = np.searchsorted(edges, x, side="right")
    assert len(np.unique(ids)) == 3  # the three atoms, each whole in one bucket


def test_quantile_fit_errors_name_the_problem() -> None:
    disc = QuantileDiscretizer(QuantileDiscretizer.Config(n_buckets=11), CTX)
    with pytest.raises(ValueError, match=r"shape \[N, 4\]"):
        disc.fit(np.zeros((10, 3)))
    few = np.full((100, 4), np.nan)
    few[:5] = 1.0
    with pytest.raises(ValueError, match=r"horizon 1\.0 s has 5 finite training returns"):
        disc.fit(few)


def test_quantile_fit_changes_edges_and_bucketizes_training_targets_evenly() -> None:
    disc = QuantileDiscretizer(QuantileDiscretizer.Config(n_buckets=21), CTX)
    returns = make_returns(HORIZONS, n=5000, seed=3)
    disc.fit(returns)
    assert bool(disc.fitted)
    edges = disc(BARS[:1])[0].double()
    col = torch.as_tensor(returns[:, -1])  # 600 s: diffusive, few atoms
    ids = bucketize(
        col[~col.isnan()].view(-1, 1), edges[-1:].expand(int((~col.isnan()).sum()), 1, -1)
    )
    counts = torch.bincount(ids.view(-1), minlength=21).double()
    assert counts.max() / counts.min() < 2.0


def test_even_bucket_count_is_rejected_with_reason() -> None:
    with pytest.raises(ValidationError, match="central bucket contains a return of 0"):
        LogReturnDiscretizer.Config(n_buckets=100)


def test_log_return_defaults_are_sensible_at_1s_and_600s() -> None:
    edges = ALL_EDGES["log_return"]()[0]  # [H, K + 1]
    widths = edges[:, 2] - edges[:, 1]
    assert edges.shape[-1] == 102
    # 1 s: floored at 0.5 bps, wider than a half tick, so no bucket is empty by construction.
    assert widths[0] == pytest.approx(0.5) and widths[0] > HALF_TICK_BPS
    # 60 s: 101 buckets over ±50 bps; 600 s: scaled by √10.
    assert edges[2, 1] == pytest.approx(-50.0, rel=1e-6)
    assert edges[3, 1] == pytest.approx(-50.0 * 10**0.5, rel=1e-6)
    # 0 in the middle of the central bucket; the ±½ and 1 tick lattice points are not on edges.
    centre = edges[0, 50], edges[0, 51]
    assert centre[0] == pytest.approx(-0.25) and centre[1] == pytest.approx(0.25)
    lattice = torch.tensor([[k * HALF_TICK_BPS] for k in range(-4, 5)], dtype=torch.float64)
    ids = bucketize(lattice, edges[:1].unsqueeze(0).expand(9, 1, -1)).view(-1)
    assert ids[4] == 50  # return 0 → the central bucket
    assert len(set(ids.tolist())) >= 5  # the lattice spreads over several buckets


def test_log_return_horizon_override_and_unknown_horizon() -> None:
    edges = ALL_EDGES["log_return"](horizon_range_bps={600.0: 40.0, 1.0: 1.0})[0]
    assert edges[3, 1] == pytest.approx(-40.0, rel=1e-6)
    assert edges[0, 1] == pytest.approx(-0.5 * 99 / 2, rel=1e-6)  # 1 s override under the floor
    with pytest.raises(ValueError, match=r"horizons \[7.0\] that the model does not predict"):
        LogReturnDiscretizer(LogReturnDiscretizer.Config(horizon_range_bps={7.0: 1.0}), CTX)
    with pytest.raises(ValueError, match="too close to the outer sentinel"):
        LogReturnDiscretizer(LogReturnDiscretizer.Config(range_bps=9000.0), CTX)


def test_vol_scaled_widens_with_volatility_and_respects_floor() -> None:
    disc = VolScaledDiscretizer(VolScaledDiscretizer.Config(lookback_bars=100), CTX)
    calm = make_bars(1, 101, ALL_COLUMNS, seed=2)
    wild = calm.clone()
    mid = ALL_COLUMNS.index("mid")
    wild[0, :, mid] = calm[0, :, mid] * (1 + 0.002 * torch.randn(101).cumsum(0))
    frozen = calm.clone()
    frozen[0, :, mid] = calm[0, 0, mid]
    w = {
        k: (disc(b)[0, :, 2] - disc(b)[0, :, 1])
        for k, b in [("calm", calm), ("wild", wild), ("frozen", frozen)]
    }
    assert (w["wild"] > w["calm"]).all()
    assert torch.allclose(w["frozen"], torch.full_like(w["frozen"], 0.5))


def test_fixed_width_snaps_to_odd_half_ticks_and_converts_to_bps() -> None:
    assert [snap_to_odd_half_ticks(w) for w in (0.1, 0.5, 1.2, 1.5, 2.2, 4.74)] == [
        0.5, 0.5, 1.5, 1.5, 2.5, 4.5,
    ]  # fmt: skip
    edges = ALL_EDGES["fixed_width"]()[0]
    price = float(BARS[0, -1, ALL_COLUMNS.index("mid")])
    # 1 s: half-tick width, central bucket ±¼ tick in bps at the last mid.
    assert edges[0, 50].item() == pytest.approx(1e4 * np.log1p(-0.0025 / price), rel=1e-6)
    assert edges[0, 51].item() == pytest.approx(1e4 * np.log1p(0.0025 / price), rel=1e-6)


def test_centers_use_mirrored_outer_buckets() -> None:
    edges = torch.tensor([[-OUTER_EDGE_BPS, -1.0, 0.0, 2.0, OUTER_EDGE_BPS]])
    assert centers(edges).tolist() == [[-1.5, -0.5, 1.0, 3.0]]


def _priced(prices: list[float], n: int = 3) -> torch.Tensor:
    """Windows of ``n`` bars whose last mid is each of ``prices``."""
    bars = make_bars(len(prices), n, ALL_COLUMNS, seed=9)
    bars[:, -1, ALL_COLUMNS.index("mid")] = torch.tensor(prices, dtype=bars.dtype)
    return bars


@settings(max_examples=40, deadline=None)
@given(
    prices=st.lists(st.floats(1.0, 2000.0), min_size=1, max_size=4),
    k=st.integers(2, 40).map(lambda i: 2 * i + 1),
    range_bps=st.floats(1.0, 200.0),
)
def test_lattice_edges_sit_between_reachable_prices(
    prices: list[float], k: int, range_bps: float
) -> None:
    disc = LatticeDiscretizer(LatticeDiscretizer.Config(n_buckets=k, range_bps=range_bps), CTX)
    bars = _priced(prices)
    with torch.no_grad():
        edges = disc(bars).double()
        m = disc.steps_per_bucket(bars).double()  # [B, H]
    assert (edges[..., 1:] > edges[..., :-1]).all()  # monotone
    c = k // 2
    assert (edges[..., c] < 0).all() and (edges[..., c + 1] > 0).all()  # 0 in the central one
    assert (m >= 1).all() and (m % 2 == 1).all()  # an odd whole number of steps per bucket
    p = torch.tensor(prices, dtype=torch.float64)[:, None, None]
    # every inner edge is half a step off the lattice in price (up to float32 graph rounding)
    steps = p * torch.expm1(edges[..., 1:-1] / 1e4) / 0.005
    off = (steps - steps.floor() - 0.5).abs()
    assert (off <= 2e-3 + 1e-6 * steps.abs()).all()
    # a return of j whole steps lands in bucket c + round(j / m)
    for j in range(-3, 4):
        r = 1e4 * torch.log1p(j * 0.005 / p[..., 0]).expand_as(m)
        expect = (c + torch.round(torch.tensor(float(j)) / m)).clamp(0, k - 1)
        assert (bucketize(r, edges) == expect).all()


def test_lattice_follows_the_price_level() -> None:
    disc = LatticeDiscretizer(LatticeDiscretizer.Config(n_buckets=21, range_bps=2.0), CTX)
    with torch.no_grad():
        edges = disc(_priced([14.0, 181.0])).double()
    # at 1 s one bucket per half-cent step: 3.57 bps at $14, 0.28 bps at $181
    width = edges[:, 0, 11] - edges[:, 0, 10]
    assert width[0].item() == pytest.approx(1e4 * 0.005 / 14.0, rel=1e-3)
    assert width[1].item() == pytest.approx(1e4 * 0.005 / 181.0, rel=1e-3)
    # a window without a price falls back to the configured width
    with torch.no_grad():
        fallback = disc(_priced([0.0])).double()
    assert torch.allclose(fallback[0, :, 11] - fallback[0, :, 10], torch.tensor(0.5).double())
