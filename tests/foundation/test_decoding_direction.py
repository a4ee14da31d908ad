"""The one P(up)/P(flat)/P(down) (ash.decoding): a partition with the zero bucket as flat."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ash.decoding import direction_probs

SENTINEL = 10000.0


def test_the_bucket_holding_zero_is_flat_and_not_split() -> None:
    edges = np.array([-SENTINEL, -1.0, 1.0, 3.0, SENTINEL])
    up, flat, down = direction_probs(np.array([0.1, 0.5, 0.3, 0.1]), edges)
    assert (float(up), float(flat), float(down)) == pytest.approx((0.4, 0.5, 0.1))


def test_an_edge_at_zero_makes_the_bucket_above_it_flat() -> None:
    # Half-open buckets: a zero return falls into [0, 2), which is therefore the flat bucket.
    edges = np.array([-SENTINEL, -2.0, 0.0, 2.0, SENTINEL])
    up, flat, down = direction_probs(np.array([0.1, 0.2, 0.3, 0.4]), edges)
    assert (float(up), float(flat), float(down)) == pytest.approx((0.4, 0.3, 0.3))


def test_edges_broadcast_over_samples_and_horizons() -> None:
    probs = np.full((3, 2, 4), 0.25)
    edges = np.array([-SENTINEL, -1.0, 1.0, 2.0, SENTINEL])
    up, flat, down = direction_probs(probs, edges)
    assert up.shape == flat.shape == down.shape == (3, 2)
    assert np.allclose(up, 0.5) and np.allclose(flat, 0.25) and np.allclose(down, 0.25)


@given(
    st.lists(st.floats(-50, 50, allow_nan=False), min_size=1, max_size=12, unique=True),
    st.lists(st.floats(0.0, 1.0), min_size=13, max_size=13),
)
def test_up_flat_down_partition_the_mass(inner: list[float], weights: list[float]) -> None:
    edges = np.array([-SENTINEL, *sorted(inner), SENTINEL])
    w = np.asarray(weights[: len(edges) - 1]) + 1e-3
    p = w / w.sum()
    up, flat, down = direction_probs(p, edges)
    assert float(up + flat + down) == pytest.approx(1.0)
    # Exactly one bucket is flat: the one a zero return is bucketized into.
    zero_bucket = int(np.searchsorted(edges, 0.0, side="right")) - 1
    assert float(flat) == pytest.approx(p[zero_bucket])
