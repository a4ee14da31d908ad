"""Leak-free chronological splits and walk-forward folds over window samples.

Samples are cut by the time of their end bar. Between consecutive parts a purge of at least
``window + longest horizon`` bars (plus an embargo) is left empty, and, as a second guard that
also covers windows straddling gaps (gap_policy "mask") and several symbols, an earlier part keeps
only samples whose last target bar is strictly before the first bar any later-part sample reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ash.data import date_splits
from ash.data.date_splits import DateSplitConfig
from ash.data.windows import SampleSpans

I64 = npt.NDArray[np.int64]


class SplitConfig(BaseModel):
    """Chronological train/validation/test fractions and the purge between them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    train: float = Field(
        0.70, gt=0, lt=1, description="Fraction of samples (by time) for training."
    )
    val: float = Field(0.15, ge=0, lt=1, description="Fraction of samples for validation.")
    test: float = Field(0.15, ge=0, lt=1, description="Fraction of samples for the final test.")
    purge_bars: int | None = Field(
        None,
        ge=0,
        description="Bars left empty between parts; null = window + longest horizon (the "
        "minimum allowed).",
    )
    embargo_bars: int = Field(0, ge=0, description="Extra bars left empty after the purge.")
    dates: DateSplitConfig | None = Field(
        None,
        description="Parts named by session dates or ranges (see ash.data.date_splits); when "
        "set, the fractions are not used.",
    )

    @model_validator(mode="after")
    def _fractions_sum_to_one(self) -> SplitConfig:
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"train + val + test must be 1, got {total}")
        return self


class WalkForwardConfig(BaseModel):
    """Walk-forward folds: the timeline is cut into ``n_folds + 1`` blocks of samples."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_folds: int = Field(4, ge=1, description="Number of (train, test) folds.")
    mode: Literal["expanding", "rolling"] = Field(
        "expanding", description="expanding: train on all earlier blocks; rolling: the last few."
    )
    train_blocks: int = Field(
        1, ge=1, description="Blocks (step: day: session dates) in a rolling training set."
    )
    step: Literal["block", "day"] = Field(
        "block",
        description="block: equal blocks of samples; day: test on each of the last n_folds "
        "session dates, train on the dates before it.",
    )
    purge_bars: int | None = Field(None, ge=0, description="As SplitConfig.purge_bars.")
    embargo_bars: int = Field(0, ge=0, description="As SplitConfig.embargo_bars.")


@dataclass(frozen=True)
class Split:
    """Sample end indices of each part (sorted)."""

    train: I64
    val: I64
    test: I64


@dataclass(frozen=True)
class Fold:
    train: I64
    test: I64


def purge_gap_bars(window: int, max_horizon_bars: int, purge_bars: int | None, embargo: int) -> int:
    """Bars between parts: at least window + longest horizon, plus the embargo."""
    minimum = window + max_horizon_bars
    if purge_bars is not None and purge_bars < minimum:
        raise ValueError(
            f"purge_bars={purge_bars} is below window + longest horizon = {minimum}; samples "
            "of one part could read bars of the next"
        )
    return (minimum if purge_bars is None else purge_bars) + embargo


def chronological_split(
    ends: I64,
    spans: SampleSpans,
    *,
    window: int,
    max_horizon_bars: int,
    bar_seconds: float,
    config: SplitConfig | None = None,
) -> Split:
    """Train/val/test by end time with purges; ``spans`` aligned with ``ends``."""
    config = config or SplitConfig()
    gap_ns = _gap_ns(window, max_horizon_bars, config.purge_bars, config.embargo_bars, bar_seconds)
    ends, spans = _sorted(ends, spans)
    n = len(ends)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Split(empty, empty, empty)
    cut1 = spans.end_ts[min(int(config.train * n), n - 1)]
    cut2 = spans.end_ts[min(int((config.train + config.val) * n), n - 1)] if config.test else None
    in_test = spans.end_ts >= cut2 if cut2 is not None else np.zeros(n, dtype=bool)
    in_val = (spans.end_ts >= cut1) & ~in_test
    in_train = spans.end_ts < cut1
    test = ends[in_test]
    val = ends[_before(in_val, spans, in_test, cut2, gap_ns)]
    train = ends[_before(in_train, spans, in_val | in_test, cut1, gap_ns)]
    return Split(train=train, val=val, test=test)


def date_split(
    ends: I64,
    spans: SampleSpans,
    *,
    window: int,
    max_horizon_bars: int,
    bar_seconds: float,
    dates: DateSplitConfig,
    timezone: str,
    purge_bars: int | None = None,
    embargo_bars: int = 0,
) -> Split:
    """Train/val/test from ``dates`` (local ``timezone``), purged at every boundary."""
    ends, spans = _sorted(ends, spans)
    part = date_splits.assign_parts(spans.end_ts, dates, timezone)
    keep = _purged(part, spans, window, max_horizon_bars, bar_seconds, purge_bars, embargo_bars)
    return Split(*(ends[keep & (part == pid)] for pid in range(3)))


def _purged(
    part: I64,
    spans: SampleSpans,
    window: int,
    max_h: int,
    bar_seconds: float,
    purge_bars: int | None,
    embargo_bars: int,
) -> np.ndarray:
    """Keep-mask of :func:`date_splits.purge_lower` with spans that end ``max_h`` bars after each
    end bar (by time: never short, whatever follows in the stacked array) and pad the purge
    beyond window + longest horizon."""
    bar_ns = round(bar_seconds * 1e9)
    pad = purge_gap_bars(window, max_h, purge_bars, embargo_bars) - (window + max_h)
    last = spans.end_ts + max_h * bar_ns
    return date_splits.purge_lower(part, spans.first_ts, last, pad * bar_ns)


def walk_forward_days(
    ends: I64,
    spans: SampleSpans,
    *,
    window: int,
    max_horizon_bars: int,
    bar_seconds: float,
    timezone: str,
    config: WalkForwardConfig,
) -> list[Fold]:
    """Day-wise folds: test on each of the last ``n_folds`` session dates, train on earlier
    dates (all of them, or ``train_blocks`` dates when rolling), purged at the boundary."""
    ends, spans = _sorted(ends, spans)
    dates = date_splits.session_dates(spans.end_ts, timezone)
    rolling = config.train_blocks if config.mode == "rolling" else None
    folds = []
    for train_days, test_day in date_splits.day_folds(dates, config.n_folds, rolling):
        part = np.where(dates == test_day, 1, np.where(np.isin(dates, train_days), 0, -1))
        keep = _purged(
            part.astype(np.int64),
            spans,
            window,
            max_horizon_bars,
            bar_seconds,
            config.purge_bars,
            config.embargo_bars,
        )
        folds.append(Fold(train=ends[keep & (part == 0)], test=ends[keep & (part == 1)]))
    return folds


def walk_forward(
    ends: I64,
    spans: SampleSpans,
    *,
    window: int,
    max_horizon_bars: int,
    bar_seconds: float,
    config: WalkForwardConfig | None = None,
) -> list[Fold]:
    """Folds k = 1..n: test on block k, train on earlier blocks (expanding or rolling)."""
    config = config or WalkForwardConfig()
    gap_ns = _gap_ns(window, max_horizon_bars, config.purge_bars, config.embargo_bars, bar_seconds)
    ends, spans = _sorted(ends, spans)
    n = len(ends)
    if n < config.n_folds + 1:
        raise ValueError(f"{n} samples cannot make {config.n_folds} walk-forward folds")
    cuts = np.asarray(
        [spans.end_ts[i * n // (config.n_folds + 1)] for i in range(1, config.n_folds + 1)]
    )
    block = np.searchsorted(cuts, spans.end_ts, side="right")
    folds = []
    for k in range(1, config.n_folds + 1):
        in_test = block == k
        lowest = 0 if config.mode == "expanding" else max(0, k - config.train_blocks)
        in_train = (block >= lowest) & (block < k)
        train = _before(in_train, spans, in_test, cuts[k - 1], gap_ns)
        folds.append(Fold(train=ends[train], test=ends[in_test]))
    return folds


def _before(
    part: np.ndarray, spans: SampleSpans, later: np.ndarray, cut: np.int64 | int | None, gap_ns: int
) -> np.ndarray:
    """Samples of ``part`` that end a purge before ``cut`` and read nothing a later sample reads."""
    if cut is None or not later.any():
        return part
    later_first = spans.first_ts[later].min()
    keep: np.ndarray = part & (spans.end_ts <= cut - gap_ns) & (spans.last_ts < later_first)
    return keep


def _gap_ns(window: int, max_h: int, purge: int | None, embargo: int, bar_seconds: float) -> int:
    return purge_gap_bars(window, max_h, purge, embargo) * round(bar_seconds * 1e9)


def _sorted(ends: I64, spans: SampleSpans) -> tuple[I64, SampleSpans]:
    ends = np.asarray(ends, dtype=np.int64)
    if not (len(ends) == len(spans.end_ts) == len(spans.first_ts) == len(spans.last_ts)):
        raise ValueError("ends and spans must have the same length")
    order = np.argsort(spans.end_ts, kind="stable")
    return ends[order], SampleSpans(
        end_ts=spans.end_ts[order], first_ts=spans.first_ts[order], last_ts=spans.last_ts[order]
    )


def split_samples(
    ends: I64,
    spans: SampleSpans,
    *,
    window: int,
    max_horizon_bars: int,
    bar_seconds: float,
    config: SplitConfig,
    walk_forward_folds: int = 0,
    walk_forward_step: Literal["block", "day"] = "block",
    fold: int | None = None,
    timezone: str = "America/New_York",
) -> Split:
    """The one split of an experiment: by ``config.dates``, by fractions, or walk-forward fold
    ``fold`` of ``walk_forward_folds``.

    A walk-forward fold tests on its block (or session date) and validates on the last
    ``val / (train + val)`` of its training samples (purged again).
    """
    common = {"window": window, "max_horizon_bars": max_horizon_bars, "bar_seconds": bar_seconds}
    if fold is None:
        if config.dates is not None:
            return date_split(
                ends,
                spans,
                dates=config.dates,
                timezone=timezone,
                purge_bars=config.purge_bars,
                embargo_bars=config.embargo_bars,
                **common,  # type: ignore[arg-type]
            )
        return chronological_split(ends, spans, config=config, **common)  # type: ignore[arg-type]
    if config.dates is not None:
        raise ValueError(
            "split.dates and walk-forward folds are exclusive: name the dates of one split, or "
            "set walk_forward_step: day to test on each of the last session dates"
        )
    if not 0 <= fold < walk_forward_folds:
        raise ValueError(f"fold {fold} out of range for {walk_forward_folds} walk-forward folds")
    wf = WalkForwardConfig(
        n_folds=walk_forward_folds,
        purge_bars=config.purge_bars,
        embargo_bars=config.embargo_bars,
        step=walk_forward_step,
    )
    if walk_forward_step == "day":
        folds = walk_forward_days(ends, spans, timezone=timezone, config=wf, **common)  # type: ignore[arg-type]
    else:
        folds = walk_forward(ends, spans, config=wf, **common)  # type: ignore[arg-type]
    val_share = config.val / (config.train + config.val)
    inner = SplitConfig(
        train=1 - val_share,
        val=val_share,
        test=0.0,
        purge_bars=config.purge_bars,
        embargo_bars=config.embargo_bars,
    )
    keep = np.isin(ends, folds[fold].train)
    kept = SampleSpans(spans.end_ts[keep], spans.first_ts[keep], spans.last_ts[keep])
    parts = chronological_split(ends[keep], kept, config=inner, **common)  # type: ignore[arg-type]
    return Split(parts.train, parts.val, folds[fold].test)
