"""Features computed once per bar for training and evaluation, instead of once per window.

A training window is ``window`` bars long (332 for the default model) but the backbone reads only
the features of its last ``steps`` positions (32): the rest is warm-up that the feature builders
and the prior need. Computing every feature over every window throws ~90 % of that work away. The
built-in builders are causal, have no trainable parameters, and (the conformance kit proves it)
their output at a step depends only on the last ``warmup`` bars, so the features of a bar are the
same in every window that uses it. :class:`CachedFeatures` therefore computes them once over each
session segment of the bar array (in overlapping chunks, every kept position with at least
``window - steps`` bars of history, as in a window) and gathers ``[B, steps, F]`` feature windows;
the discretizer and the prior still read bars, only the last ``model.tail_window`` of each window.

:class:`BarWindows` is the per-window path (the exported graph's computation), kept for builders
that declare ``cacheable = False`` or have trainable parameters, and for ``train.feature_cache:
false``. Serving is unchanged: the exported graph still computes features from raw bars.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Protocol

import numpy as np
import torch
from numpy.typing import NDArray

from ash.data.windows import gather_windows
from ash.interfaces import FeatureBuilder
from ash.model import AshModel

CHUNK_ROWS = 2048
"""Output rows per chunk; a chunk reads ``window - steps`` more bars of history before them."""
CHUNK_BATCH = 16
"""Chunks computed together (bounds the builders' intermediate memory)."""


class WindowSource(Protocol):
    """Model inputs for batches of window ends, and the model's outputs from them."""

    def gather(self, ends: torch.Tensor) -> tuple[torch.Tensor, ...]: ...

    def logit_parts(
        self, model: AshModel, *inputs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]: ...

    def edges(self, model: AshModel, *inputs: torch.Tensor) -> torch.Tensor: ...


class BarWindows:
    """The per-window path: ``[B, window, C]`` bar windows through the whole graph."""

    def __init__(self, model: AshModel, bars: torch.Tensor) -> None:
        self.bars = bars
        self.window = model.window

    def gather(self, ends: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (gather_windows(self.bars, ends, self.window),)

    def logit_parts(
        self, model: AshModel, *inputs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        return model.logit_parts(inputs[0])

    def edges(self, model: AshModel, *inputs: torch.Tensor) -> torch.Tensor:
        return model.edges(inputs[0])


class CachedFeatures:
    """Raw features of every bar computed once; batches are ``[B, steps, F]`` feature windows
    plus the last ``tail_window`` bars of each window (for the discretizer and the prior)."""

    def __init__(
        self,
        model: AshModel,
        bars: torch.Tensor,
        segment_id: NDArray[np.int64],
        ends: NDArray[np.int64] | None = None,
    ) -> None:
        reason = not_cacheable(model)
        if reason is not None:
            raise ValueError(f"features cannot be cached: {reason}")
        self.bars = bars
        self.steps = model.steps
        self.tail = model.tail_window
        self.raw = bar_features(model, bars, segment_id, ends)

    def gather(self, ends: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return gather_windows(self.raw, ends, self.steps), gather_windows(
            self.bars, ends, self.tail
        )

    def logit_parts(
        self, model: AshModel, *inputs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        return model.logit_parts_from(inputs[0], inputs[1])

    def edges(self, model: AshModel, *inputs: torch.Tensor) -> torch.Tensor:
        return model.edges(inputs[1])


def not_cacheable(model: AshModel) -> str | None:
    """Why the model's features must be computed per window, or None if they can be cached."""
    for builder in model.feature_builders:
        assert isinstance(builder, FeatureBuilder)
        name = builder.name
        if not builder.cacheable:
            return f"feature builder {name!r} declares cacheable = False"
        if any(p.requires_grad for p in builder.parameters()):
            return f"feature builder {name!r} has trainable parameters"
    return None


def window_source(
    model: AshModel,
    bars: torch.Tensor,
    segment_id: NDArray[np.int64],
    *,
    cache: bool,
    ends: NDArray[np.int64] | None = None,
) -> WindowSource:
    """:class:`CachedFeatures` when asked for and possible, else :class:`BarWindows`.
    ``ends``: the window ends that will be asked for (only their segments are computed)."""
    if cache and not_cacheable(model) is None:
        return CachedFeatures(model, bars, segment_id, ends)
    return BarWindows(model, bars)


def _segments(
    segment_id: NDArray[np.int64], min_length: int, ends: NDArray[np.int64] | None
) -> list[tuple[int, int]]:
    """``[start, stop)`` of every segment at least ``min_length`` bars long (holding an end)."""
    starts = np.r_[0, np.flatnonzero(np.diff(segment_id) != 0) + 1]
    stops = np.r_[starts[1:], len(segment_id)]
    keep = stops - starts >= min_length
    if ends is not None:
        held = np.zeros(len(starts), dtype=bool)
        held[np.searchsorted(starts, np.unique(ends), side="right") - 1] = True
        keep &= held
    return [(int(a), int(b)) for a, b in zip(starts[keep], stops[keep], strict=True)]


def chunk_plan(
    start: int, stop: int, history: int, rows: int = CHUNK_ROWS
) -> list[tuple[int, int, int, int]]:
    """Chunks ``(first bar, length, first kept bar, stop kept)`` covering ``[start, stop)``
    exactly once; every kept bar has at least ``history`` bars of its chunk before it, or its
    chunk starts at the segment start (as does a window that starts at a session start)."""
    length = history + rows
    if stop - start <= length:
        return [(start, stop - start, start, stop)]
    plan = [(start, length, start, start + length)]
    first = start + rows
    while first + length < stop:
        plan.append((first, length, plan[-1][3], first + length))
        first += rows
    plan.append((stop - length, length, plan[-1][3], stop))
    return plan


@torch.no_grad()
def bar_features(
    model: AshModel,
    bars: torch.Tensor,
    segment_id: NDArray[np.int64],
    ends: NDArray[np.int64] | None = None,
    rows: int = CHUNK_ROWS,
) -> torch.Tensor:
    """Raw features ``[T, F]`` of every bar of ``bars[T, C]`` (on its device), computed per
    session segment; bars of segments shorter than a window (or holding none of ``ends``) are
    NaN, since no window of the model ends there."""
    if len(segment_id) != len(bars):
        raise ValueError(f"segment_id has {len(segment_id)} rows but bars have {len(bars)}")
    history = model.window - model.steps
    out = torch.full((len(bars), model.n_features), float("nan"), device=bars.device)
    groups: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
    for start, stop in _segments(segment_id, model.window, ends):
        for chunk in chunk_plan(start, stop, history, rows):
            groups[chunk[1]].append(chunk)
    for length, chunks in groups.items():
        for i in range(0, len(chunks), CHUNK_BATCH):
            _fill(model, bars, out, length, chunks[i : i + CHUNK_BATCH])
    return out


def _fill(
    model: AshModel,
    bars: torch.Tensor,
    out: torch.Tensor,
    length: int,
    chunks: list[tuple[int, int, int, int]],
) -> None:
    firsts = np.array([c[0] for c in chunks], dtype=np.int64)
    windows = gather_windows(bars, torch.as_tensor(firsts + length - 1, device=bars.device), length)
    feats = torch.cat([f(windows) for f in model.feature_builders], dim=-1)  # [n, length, F]
    dst = np.concatenate([np.arange(lo, hi) for _, _, lo, hi in chunks])
    src = np.concatenate(
        [i * length + np.arange(lo - a, hi - a) for i, (a, _, lo, hi) in enumerate(chunks)]
    )
    flat: Any = feats.reshape(-1, feats.shape[-1])
    out[torch.as_tensor(dst, device=out.device)] = flat[torch.as_tensor(src, device=out.device)]
