"""Forward log returns in basis points: the quantity the model predicts a distribution of.

``r[t, h] = 1e4 * ln(ref[t + hb] / ref[t])`` with ``ref`` a bar-end price (``mid`` or ``close``)
and ``hb`` the horizon in bars. The model's last input bar is ``t``, so the return starts at the
end of bar t. NaN where ``t + hb`` leaves bar t's segment or the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from ash.bars.result import Bars
from ash.interfaces import horizon_bars

ReferencePrice = Literal["auto", "mid", "close"]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def reference_column(bars: Bars, reference: ReferencePrice = "auto") -> str:
    """The bar column used as reference price: ``auto`` is ``mid`` where quotes exist."""
    if reference == "auto":
        return "mid" if bars.has_quotes else "close"
    if reference not in ("mid", "close"):
        raise ValueError(f"reference must be 'auto', 'mid' or 'close', got {reference!r}")
    return reference


def forward_returns_bps(ref: F64, segment_id: I64, horizons: Sequence[int]) -> F64:
    """``[T, H]`` forward log returns in bps; NaN where the horizon leaves the segment/data."""
    ref = np.asarray(ref, dtype=np.float64)
    segment_id = np.asarray(segment_id)
    if ref.ndim != 1 or ref.shape != segment_id.shape:
        raise ValueError(f"ref {ref.shape} and segment_id {segment_id.shape} must be equal [T]")
    if any(int(h) < 1 for h in horizons):
        raise ValueError(f"horizons in bars must be >= 1, got {list(horizons)}")
    if len(ref) and not (np.isfinite(ref).all() and (ref > 0).all()):
        bad = int(np.flatnonzero(~(np.isfinite(ref) & (ref > 0)))[0])
        raise ValueError(f"reference price at bar {bad} is {ref[bad]!r}; it must be finite and > 0")
    T = len(ref)
    out = np.full((T, len(horizons)), np.nan)
    for k, hb in enumerate(int(h) for h in horizons):
        if hb >= T:
            continue
        same = segment_id[hb:] == segment_id[:-hb]
        out[: T - hb, k] = np.where(same, 1e4 * np.log(ref[hb:] / ref[:-hb]), np.nan)
    return out


@dataclass(frozen=True)
class Targets:
    """Forward returns of one Bars object at each horizon."""

    returns_bps: F64  # [T, H], NaN where unavailable
    horizon_bars: tuple[int, ...]
    reference: str  # the bar column used ("mid" or "close")


def targets_for(
    bars: Bars, horizons_seconds: Sequence[float], reference: ReferencePrice = "auto"
) -> Targets:
    """Targets of one symbol's bars, computed in float64 before any cast to float32."""
    column = reference_column(bars, reference)
    hb = horizon_bars(horizons_seconds, bars.spec.seconds)
    returns = forward_returns_bps(bars.column(column), bars.segment_id, hb)
    return Targets(returns_bps=returns, horizon_bars=hb, reference=column)
