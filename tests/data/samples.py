"""Samples the way the pipeline makes them (stack_bars -> targets -> sample_ends -> spans)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ash.bars.result import Bars
from ash.bars.spec import GapPolicy
from ash.data.windows import SampleSpans
from ash.interfaces import horizon_bars
from ash.pipeline import BarData, forward_returns_bps, sample_ends, sample_spans, stack_bars


@dataclass(frozen=True)
class Sampled:
    data: BarData
    returns: np.ndarray  # [T, H] bps
    steps: tuple[int, ...]
    window: int
    ends: np.ndarray
    spans: SampleSpans


def sampled(
    bars: Sequence[Bars],
    *,
    window: int,
    horizons_s: Sequence[float],
    gap_policy: GapPolicy = "reset",
) -> Sampled:
    data = stack_bars(list(bars), bars[0].spec.seconds, "test")
    steps = horizon_bars(horizons_s, data.bar_seconds)
    returns = forward_returns_bps(data, "mid", steps)
    ends = sample_ends(data, returns, window, gap_policy)
    return Sampled(data, returns, steps, window, ends, sample_spans(data, ends, window, max(steps)))
