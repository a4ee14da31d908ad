"""Windows are index views into one contiguous bar tensor; they never straddle gaps or symbols."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ash.data.windows import BarTensor, WindowDataset, window_ends
from tests.bars.factory import synthetic_bars


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
    ds = WindowDataset.from_bars(bars, window=5, horizons_seconds=[1, 3])
    stacked = np.concatenate([b.values for b in bars]).astype(np.float32)
    x, y, m = ds.gather(torch.arange(len(ds)))
    assert x.shape == (len(ds), 5, len(bars[0].columns))
    for i, end in enumerate(ds.ends):
        np.testing.assert_array_equal(x[i].numpy(), stacked[end - 4 : end + 1])
    # symbol A segment 0: bars 0..29; a sample ending at 28 has horizon 1 but not 3
    row = int(np.flatnonzero(ds.ends == 28)[0])
    assert m[row].tolist() == [True, False]
    mid = bars[0].column("mid")
    assert y[row, 0].item() == pytest.approx(1e4 * np.log(mid[29] / mid[28]), rel=1e-5)
    # no sample of A's last segment start can see segment 0; no window spans symbols
    assert set(ds.ends.tolist()).isdisjoint({30, 31, 32, 33, 42, 43, 44, 45})
    assert ds.ends.max() == 65  # B ends at 66, which has no target: dropped (require_target)
    assert 29 not in ds.ends and 41 not in ds.ends  # segment ends: no target either


def test_memory_grows_with_bars_not_windows() -> None:
    ds = WindowDataset.from_bars([synthetic_bars([2000])], window=300, horizons_seconds=[1, 60])
    stored = sum(t.numel() for t in (ds._values, ds._targets, ds._mask, ds._ends, ds._offsets))
    T, C = ds._values.shape
    assert len(ds) * ds.window * C > 10 * stored  # windows x W would be far larger
    assert stored < T * (C + 2 * 2 + 1) + ds.window


def test_mask_policy_keeps_but_masks_gap_crossing_samples() -> None:
    bars = [synthetic_bars([10, 10])]
    reset = WindowDataset.from_bars(bars, window=4, horizons_seconds=[1], gap_policy="reset")
    mask = WindowDataset.from_bars(bars, window=4, horizons_seconds=[1], gap_policy="mask")
    assert set(reset.ends.tolist()) < set(mask.ends.tolist())
    crossing = [int(i) for i, e in enumerate(mask.ends) if 10 <= e < 13]
    assert crossing
    _, _, m = mask.gather(crossing)
    assert not m.any()


def test_batches_cover_every_sample_once_and_subset_shares_storage() -> None:
    ds = WindowDataset.from_bars([synthetic_bars([40])], window=3, horizons_seconds=[1])
    seen = []
    for x, _, _ in ds.batches(7, shuffle=True, generator=torch.Generator().manual_seed(0)):
        seen.extend(x[:, -1, 0].tolist())
    assert sorted(seen) == sorted(ds.gather(torch.arange(len(ds)))[0][:, -1, 0].tolist())
    sub = ds.subset(ds.ends[:5])
    assert len(sub) == 5 and sub._values.data_ptr() == ds._values.data_ptr()
    with pytest.raises(ValueError, match="not samples"):
        ds.subset(np.array([0]))
    with pytest.raises(ValueError, match="batch_size"):
        next(ds.batches(0))


def test_stacking_rejects_mismatched_bars() -> None:
    from ash.bars.spec import BarSpec

    with pytest.raises(ValueError, match="one BarSpec"):
        BarTensor.from_bars([synthetic_bars([3]), synthetic_bars([3], spec=BarSpec(seconds=0.5))])
    with pytest.raises(ValueError, match="different reference"):
        WindowDataset.from_bars(
            [synthetic_bars([9]), synthetic_bars([9], has_quotes=False)],
            window=2,
            horizons_seconds=[1],
        )


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
    ds = WindowDataset.from_bars([bars], window=window, horizons_seconds=[1], require_target=False)
    positions = np.flatnonzero(ds.ends <= t)
    if not len(positions):
        return
    before = ds.gather(positions)[0].clone()
    ds._values[t + 1 :] = torch.randn_like(ds._values[t + 1 :])
    after = ds.gather(positions)[0]
    assert torch.equal(before, after)
