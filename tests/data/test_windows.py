"""Windows are index views into one contiguous bar array; they never straddle gaps or symbols."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ash.data.windows import gather_windows, subsample, window_ends
from tests.bars.factory import synthetic_bars
from tests.data.samples import sampled


def test_window_ends_reset_and_mask() -> None:
    seg = np.array([0, 0, 0, 1, 1, 1, 1, 2])
    sym = np.array([0, 0, 0, 0, 0, 0, 0, 1])
    ends, crosses = window_ends(seg, sym, 3, "reset")
    assert ends.tolist() == [2, 5, 6] and not crosses.any()
    ends, crosses = window_ends(seg, sym, 3, "mask")
    assert ends.tolist() == [2, 3, 4, 5, 6]  # never index 7: another symbol
    assert crosses.tolist() == [False, True, True, False, False]
    with pytest.raises(ValueError, match="gap_policy"):
        window_ends(seg, sym, 3, "ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="window"):
        window_ends(seg, sym, 0)


def test_gather_matches_slices_and_targets() -> None:
    bars = [synthetic_bars([30, 12], symbol="A"), synthetic_bars([25], symbol="B", seed=1)]
    s = sampled(bars, window=5, horizons_s=[1, 3])
    stacked = np.concatenate([b.values for b in bars])
    x = gather_windows(s.data.values, s.ends, 5)
    assert x.shape == (len(s.ends), 5, len(bars[0].columns))
    for i, end in enumerate(s.ends):
        np.testing.assert_array_equal(x[i], stacked[end - 4 : end + 1])
    on_device = gather_windows(torch.as_tensor(s.data.values), torch.as_tensor(s.ends), 5)
    np.testing.assert_array_equal(on_device.numpy(), x)
    # symbol A segment 0: bars 0..29; a sample ending at 28 has horizon 1 but not 3
    assert np.isfinite(s.returns[28]).tolist() == [True, False]
    mid = bars[0].column("mid")
    assert s.returns[28, 0] == pytest.approx(1e4 * np.log(mid[29] / mid[28]), rel=1e-9)
    # no sample of A's second segment can see segment 0; no window spans symbols
    assert set(s.ends.tolist()).isdisjoint({30, 31, 32, 33, 42, 43, 44, 45})
    assert s.ends.max() == 65  # B ends at 66, which has no target: dropped
    assert 29 not in s.ends and 41 not in s.ends  # segment ends: no target either


def test_gap_crossing_windows_are_dropped_under_either_policy() -> None:
    bars = [synthetic_bars([10, 10])]
    reset = sampled(bars, window=4, horizons_s=[1], gap_policy="reset")
    mask = sampled(bars, window=4, horizons_s=[1], gap_policy="mask")
    assert reset.ends.tolist() == mask.ends.tolist()
    assert not any(10 <= e < 13 for e in mask.ends)


def test_subsample_is_strided_and_deterministic() -> None:
    ends = np.arange(100, dtype=np.int64) * 3
    assert subsample(ends, None) is ends and subsample(ends, 500) is ends
    picked = subsample(ends, 10)
    assert len(picked) == 10 and picked[0] == 0 and picked[-1] == 297
    assert np.array_equal(picked, subsample(ends, 10))


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 30), min_size=1, max_size=4),
    window=st.integers(1, 8),
    t=st.integers(0, 200),
)
def test_changing_bars_after_t_never_changes_the_window_at_t(
    lengths: list[int], window: int, t: int
) -> None:
    bars = synthetic_bars(lengths)
    ends, _ = window_ends(bars.segment_id, np.zeros(len(bars), dtype=np.int64), window)
    ends = ends[ends <= t]
    if not len(ends):
        return
    values = bars.values.copy()
    before = gather_windows(values, ends, window).copy()
    values[t + 1 :] = np.random.default_rng(t).normal(size=values[t + 1 :].shape)
    assert np.array_equal(before, gather_windows(values, ends, window))
