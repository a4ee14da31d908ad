"""Splits named by session dates and day-wise walk-forward: purged at every boundary, clear
errors for dates without data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ash.data.date_splits import DateSplitConfig, parse_entry, session_dates
from ash.data.splits import (
    SplitConfig,
    WalkForwardConfig,
    date_split,
    split_samples,
    walk_forward_days,
)
from ash.data.windows import SampleSpans

TZ = "America/New_York"
BAR_NS = 10**9
DAYS = ("2013-10-07", "2013-10-08", "2013-10-09", "2013-10-10")


def _spans(n_days: int, bars_per_day: int, window: int, n_symbols: int = 1) -> tuple:
    """Samples of ``n_symbols`` symbols on consecutive days from 09:30 local, 1 s bars."""
    ends, end_ts = [], []
    for _ in range(n_symbols):
        for day in DAYS[:n_days]:
            open_ns = pd.Timestamp(f"{day} 09:30", tz=TZ).value
            ts = open_ns + np.arange(window - 1, bars_per_day) * BAR_NS
            end_ts.append(ts)
            ends.append(np.arange(len(ts)) + sum(len(e) for e in ends))
    end = np.concatenate(end_ts).astype(np.int64)
    idx = np.concatenate(ends).astype(np.int64)
    spans = SampleSpans(end_ts=end, first_ts=end - (window - 1) * BAR_NS, last_ts=end)
    return idx, spans


def _touch(a: np.ndarray, b: np.ndarray, spans: SampleSpans, ends: np.ndarray, max_h: int) -> bool:
    """Whether any sample in ``a`` reads or targets a bar that a sample in ``b`` reads/targets."""
    pos = {int(e): i for i, e in enumerate(ends)}
    ia = np.array([pos[int(e)] for e in a], dtype=np.int64)
    ib = np.array([pos[int(e)] for e in b], dtype=np.int64)
    if len(ia) == 0 or len(ib) == 0:
        return False
    a0, a1 = spans.first_ts[ia], spans.end_ts[ia] + max_h * BAR_NS
    b0, b1 = spans.first_ts[ib], spans.end_ts[ib] + max_h * BAR_NS
    return bool(((a0[:, None] <= b1[None, :]) & (b0[None, :] <= a1[:, None])).any())


@settings(max_examples=30, deadline=None)
@given(
    window=st.integers(1, 8),
    max_h=st.integers(1, 10),
    embargo=st.integers(0, 4),
    val_start=st.integers(12, 40),
    symbols=st.integers(1, 2),
)
def test_date_split_is_purged_at_every_boundary(
    window: int, max_h: int, embargo: int, val_start: int, symbols: int
) -> None:
    ends, spans = _spans(3, 60, window, symbols)
    # val is a time range inside the training dates: two boundaries inside one day.
    dates = DateSplitConfig(
        train=["2013-10-07..2013-10-08"],
        val=[f"2013-10-08 09:30:{val_start:02d}..09:30:{val_start + 15:02d}"],
        test=["2013-10-09"],
    )
    split = date_split(
        ends,
        spans,
        window=window,
        max_horizon_bars=max_h,
        bar_seconds=1.0,
        dates=dates,
        timezone=TZ,
        embargo_bars=embargo,
    )
    assert len(split.test) > 0 and len(split.train) > 0
    assert not _touch(split.train, split.val, spans, ends, max_h + embargo)
    assert not _touch(split.train, split.test, spans, ends, max_h + embargo)
    assert not _touch(split.val, split.test, spans, ends, max_h + embargo)
    # the test day is never purged, and every part keeps only its own dates
    day = dict(zip(ends.tolist(), session_dates(spans.end_ts, TZ), strict=True))
    assert {day[int(e)] for e in split.test} == {"2013-10-09"}
    assert sum(day[int(e)] == "2013-10-09" for e in ends) == len(split.test)
    assert {day[int(e)] for e in split.val} <= {"2013-10-08"}
    # train on 10-08 stops before val starts (purge) and resumes after it
    train_08 = [e for e in split.train if day[int(e)] == "2013-10-08"]
    assert train_08, "the morning and the rest of 10-08 stay in train"


def test_date_entry_without_data_is_named() -> None:
    ends, spans = _spans(2, 50, 3)
    dates = DateSplitConfig(train=["2013-10-07"], test=["2013-10-11"])
    message = r"test entry '2013-10-11' holds no sample.*2013-10-07, 2013-10-08"
    with pytest.raises(ValueError, match=message):
        date_split(
            ends, spans, window=3, max_horizon_bars=2, bar_seconds=1.0, dates=dates, timezone=TZ
        )


@pytest.mark.parametrize("bad", ["10/07/2013", "2013-10-08..2013-10-07", "2013-10-08 12:00..11:00"])
def test_bad_entries_are_rejected_at_validation(bad: str) -> None:
    with pytest.raises(ValidationError, match="split date entry"):
        SplitConfig(dates={"train": [bad], "test": ["2013-10-09"]})


def test_entries_are_local_times() -> None:
    iv = parse_entry("2013-10-08 14:30..16:00", TZ)
    assert pd.Timestamp(iv.start, tz="UTC") == pd.Timestamp("2013-10-08 18:30", tz="UTC")
    assert iv.end - iv.start == 90 * 60 * 10**9
    day = parse_entry("2013-10-07..2013-10-08", TZ)
    assert day.end - day.start == 2 * 86_400 * 10**9


@pytest.mark.parametrize("mode", ["expanding", "rolling"])
def test_day_walk_forward_tests_one_date_per_fold(mode: str) -> None:
    ends, spans = _spans(4, 40, 4, n_symbols=2)
    config = WalkForwardConfig(n_folds=2, step="day", mode=mode, train_blocks=1)
    folds = walk_forward_days(
        ends, spans, window=4, max_horizon_bars=3, bar_seconds=1.0, timezone=TZ, config=config
    )
    day = dict(zip(ends.tolist(), session_dates(spans.end_ts, TZ), strict=True))
    assert [{day[int(e)] for e in f.test} for f in folds] == [{"2013-10-09"}, {"2013-10-10"}]
    expect = (
        [{"2013-10-07", "2013-10-08"}, {"2013-10-07", "2013-10-08", "2013-10-09"}]
        if mode == "expanding"
        else [{"2013-10-08"}, {"2013-10-09"}]
    )
    assert [{day[int(e)] for e in f.train} for f in folds] == expect


def test_day_walk_forward_needs_enough_dates() -> None:
    ends, spans = _spans(2, 40, 4)
    with pytest.raises(ValueError, match=r"needs at least 3 session dates.*2013-10-07, 2013-10-08"):
        split_samples(
            ends,
            spans,
            window=4,
            max_horizon_bars=3,
            bar_seconds=1.0,
            config=SplitConfig(),
            walk_forward_folds=2,
            walk_forward_step="day",
            fold=0,
            timezone=TZ,
        )
