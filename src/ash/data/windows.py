"""Samples are window ends: the one way ash turns a bar array into model inputs.

A sample is the index ``t`` of a window's last bar; its input is ``bars[t - W + 1 : t + 1]`` and
its targets are the forward returns of bar ``t``. Only the ``[N]`` end indices are stored;
:func:`gather_windows` builds a ``[B, W, C]`` batch by indexing (on the device for torch
tensors), so memory grows with bars, not with windows x W. Several symbols are stacked back to
back with segment ids unique across symbols, so no window ever spans two symbols or a gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ash.bars.spec import GapPolicy

I64 = npt.NDArray[np.int64]


def window_ends(
    segment_id: I64, symbol_id: I64, window: int, gap_policy: GapPolicy = "reset"
) -> tuple[I64, np.ndarray]:
    """End indices with a full window, and whether each window crosses a segment start.

    reset: the window lies inside one segment. mask: inside one symbol; crossing a segment
    start is allowed but flagged (the caller masks such samples out of loss and metrics).
    """
    if window < 1:
        raise ValueError(f"window must be >= 1 bar, got {window}")
    if gap_policy not in ("reset", "mask"):
        raise ValueError(f"gap_policy must be 'reset' or 'mask', got {gap_policy!r}")
    T = len(segment_id)
    if window > T:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    ends = np.arange(window - 1, T, dtype=np.int64)
    starts = ends - (window - 1)
    crosses = segment_id[starts] != segment_id[ends]
    same_symbol = symbol_id[starts] == symbol_id[ends]
    keep = same_symbol & ~crosses if gap_policy == "reset" else same_symbol
    return ends[keep], crosses[keep]


@dataclass(frozen=True)
class SampleSpans:
    """Per sample: end-bar time and the first and last bar it reads (window start, last target)."""

    end_ts: I64
    first_ts: I64
    last_ts: I64


def gather_windows(bars: Any, ends: Any, window: int) -> Any:
    """``bars[T, C]`` and ``ends[B]`` → windows ``[B, window, C]`` (torch or numpy)."""
    if not isinstance(bars, np.ndarray):
        # A tensor. torch is imported here, not at the top: the ONNX predictor gathers numpy
        # windows without it.
        import torch

        offsets = torch.arange(-window + 1, 1, device=bars.device)
        return bars[torch.as_tensor(ends, device=bars.device)[:, None] + offsets]
    offsets_np = np.arange(-window + 1, 1)
    return bars[np.asarray(ends)[:, None] + offsets_np]


def subsample(ends: I64, max_samples: int | None) -> I64:
    """An evenly strided subsample (keeps the time spread; deterministic)."""
    if max_samples is None or len(ends) <= max_samples:
        return ends
    pick = np.linspace(0, len(ends) - 1, max_samples).round().astype(np.int64)
    return ends[np.unique(pick)]
