"""Chronological splits and walk-forward folds: no training sample reads a later part's bars."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ash.data.splits import (
    SplitConfig,
    WalkForwardConfig,
    chronological_split,
    purge_gap_bars,
    walk_forward,
)
from tests.bars.factory import synthetic_bars
from tests.data.samples import Sampled, sampled


def _split(s: Sampled, config: SplitConfig | None = None) -> tuple[np.ndarray, ...]:
    split = chronological_split(
        s.ends,
        s.spans,
        window=s.window,
        max_horizon_bars=max(s.steps),
        bar_seconds=s.data.bar_seconds,
        config=config,
    )
    return split.train, split.val, split.test


def _used(s: Sampled, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last bar index each sample reads (window start; last target inside segment)."""
    seg = s.data.segment_id
    sym = s.data.symbol_index
    first = ends - (s.window - 1)
    last = ends.copy()
    for hb in s.steps:
        reach = np.minimum(ends + hb, len(seg) - 1)
        ok = (seg[reach] == seg[ends]) & (sym[reach] == sym[ends]) & (ends + hb < len(seg))
        last = np.where(ok, np.maximum(last, reach), last)
    return first, last


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(5, 120), min_size=1, max_size=5),
    window=st.integers(1, 20),
    horizons=st.lists(st.integers(1, 30), min_size=1, max_size=3),
    policy=st.sampled_from(["reset", "mask"]),
    embargo=st.integers(0, 5),
    train=st.floats(0.3, 0.8),
)
def test_no_training_sample_sees_validation_or_test_bars(
    lengths: list[int], window: int, horizons: list[int], policy: str, embargo: int, train: float
) -> None:
    s = sampled(
        [synthetic_bars(lengths)],
        window=window,
        horizons_s=horizons,
        gap_policy=policy,  # type: ignore[arg-type]
    )
    val = (1 - train) / 2
    config = SplitConfig(train=train, val=val, test=1 - train - val, embargo_bars=embargo)
    tr, va, te = _split(s, config)
    ts = s.data.ts_ns
    gap = purge_gap_bars(window, max(horizons), None, embargo)
    for early, late in ((tr, va), (tr, te), (va, te)):
        if not len(early) or not len(late):
            continue
        _, early_last = _used(s, early)
        late_first, _ = _used(s, late)
        # index arithmetic: every bar an earlier sample reads lies before any later-part bar
        assert early_last.max() < late_first.min()
        assert ts[early_last].max() < ts[late_first].min()
        # and the purge: end bars at least window + longest horizon + embargo bars apart
        assert ts[late].min() - ts[early].max() >= gap * 1_000_000_000
    assert set(tr) | set(va) | set(te) <= set(s.ends)
    assert not (set(tr) & set(va) or set(va) & set(te))


def test_default_split_proportions_on_a_long_series() -> None:
    s = sampled([synthetic_bars([10_000])], window=60, horizons_s=[1, 300])
    tr, va, te = _split(s)
    n = len(s.ends)
    assert abs(len(tr) / n - 0.70) < 0.05 and abs(len(va) / n - 0.15) < 0.05
    assert abs(len(te) / n - 0.15) < 0.01
    assert va.min() - tr.max() >= 360 and te.min() - va.max() >= 360


@pytest.mark.parametrize("mode", ["expanding", "rolling"])
def test_walk_forward_folds_are_purged(mode: str) -> None:
    s = sampled([synthetic_bars([3000])], window=20, horizons_s=[1, 10])
    cfg = WalkForwardConfig(n_folds=4, mode=mode, train_blocks=1, embargo_bars=3)  # type: ignore[arg-type]
    folds = walk_forward(
        s.ends, s.spans, window=20, max_horizon_bars=10, bar_seconds=1.0, config=cfg
    )
    assert len(folds) == 4
    sizes = [len(f.train) for f in folds]
    if mode == "expanding":
        assert sizes == sorted(sizes) and sizes[-1] > 3 * sizes[0]
    else:
        assert max(sizes) - min(sizes) < 0.1 * max(sizes)
    for f in folds:
        assert f.test.min() - f.train.max() >= 20 + 10 + 3
        assert f.train.max() + 10 < f.test.min() - 19


def test_bad_configs_are_precise_errors() -> None:
    with pytest.raises(ValidationError, match="must be 1"):
        SplitConfig(train=0.7, val=0.2, test=0.2)
    with pytest.raises(ValueError, match="below window"):
        purge_gap_bars(10, 5, 3, 0)
    tiny = sampled([synthetic_bars([8])], window=5, horizons_s=[1])
    with pytest.raises(ValueError, match="walk-forward"):
        walk_forward(tiny.ends, tiny.spans, window=5, max_horizon_bars=1, bar_seconds=1.0)
    with pytest.raises(ValueError, match="same length"):
        chronological_split(
            tiny.ends[:1], tiny.spans, window=5, max_horizon_bars=1, bar_seconds=1.0
        )
