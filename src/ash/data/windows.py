"""Training samples as windows into ONE contiguous bar tensor (no per-sample copies).

A sample is an end index ``t``: its input is ``bars[t - W + 1 : t + 1]`` and its targets are the
forward returns of bar ``t``. Only the ``[N]`` end indices are stored; :meth:`WindowDataset.gather`
builds a ``[B, W, C]`` batch by indexing, so memory grows with bars, not with windows x W.

Several symbols are stacked one after another (:class:`BarTensor`); segment ids are unique across
symbols, so no window or target ever spans two symbols.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from ash.bars.result import Bars
from ash.bars.spec import GapPolicy
from ash.data.targets import ReferencePrice, targets_for

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BarTensor:
    """Bars of one or more symbols, stacked in one contiguous float32 tensor ``[T, C]``."""

    values: torch.Tensor  # float32 [T, C]
    ts_ns: I64  # bar start, UTC ns [T]
    segment_id: I64  # [T], unique across symbols
    symbol_id: I64  # [T], index into symbols
    symbols: tuple[str, ...]
    columns: tuple[str, ...]
    bar_seconds: float

    @classmethod
    def from_bars(cls, bars: Sequence[Bars]) -> BarTensor:
        """Stack per-symbol bars (same columns and bar length) in the order given."""
        if not bars:
            raise ValueError("BarTensor.from_bars needs at least one Bars object")
        columns, seconds = bars[0].columns, bars[0].spec.seconds
        for b in bars[1:]:
            if b.columns != columns or b.spec.seconds != seconds:
                raise ValueError(
                    f"symbol {b.symbol!r} has columns/bar length {len(b.columns)}/"
                    f"{b.spec.seconds} s, unlike {bars[0].symbol!r} "
                    f"({len(columns)}/{seconds} s); build all symbols with one BarSpec"
                )
        segment_ids, offset = [], 0
        for b in bars:
            segment_ids.append(b.segment_id + offset)
            offset += len(b.segment_starts)
        values = np.concatenate([b.values for b in bars]) if bars else np.zeros((0, len(columns)))
        return cls(
            values=torch.from_numpy(values.astype(np.float32)),
            ts_ns=np.concatenate([b.ts_ns for b in bars]),
            segment_id=np.concatenate(segment_ids).astype(np.int64),
            symbol_id=np.concatenate(
                [np.full(len(b), i, dtype=np.int64) for i, b in enumerate(bars)]
            ),
            symbols=tuple(b.symbol for b in bars),
            columns=columns,
            bar_seconds=seconds,
        )

    def __len__(self) -> int:
        return len(self.ts_ns)


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


class WindowDataset:
    """Samples over one BarTensor: ``gather`` returns ``bars [B, W, C]``, ``targets [B, H]``,
    ``mask [B, H]`` (False where a target is missing or the sample is masked by the gap policy).
    Move it to a device with :meth:`to`; subsets share the same tensors."""

    def __init__(
        self,
        bars: BarTensor,
        targets: torch.Tensor,
        mask: torch.Tensor,
        ends: I64,
        window: int,
        horizon_bars: tuple[int, ...],
        reference: str,
        device: torch.device | str = "cpu",
    ) -> None:
        if targets.shape != (len(bars), len(horizon_bars)) or mask.shape != targets.shape:
            raise ValueError(
                f"targets {tuple(targets.shape)} and mask {tuple(mask.shape)} must both be "
                f"[T={len(bars)}, H={len(horizon_bars)}]"
            )
        self.bar_tensor = bars
        self.window = window
        self.horizon_bars = horizon_bars
        self.reference = reference
        self.ends = np.asarray(ends, dtype=np.int64)
        self.device = torch.device(device)
        self._values = bars.values.to(self.device)
        self._targets = targets.to(self.device)
        self._mask = mask.to(self.device)
        self._ends = torch.from_numpy(self.ends).to(self.device)
        self._offsets = torch.arange(-window + 1, 1, device=self.device)

    @classmethod
    def from_bars(
        cls,
        bars: Sequence[Bars],
        *,
        window: int,
        horizons_seconds: Sequence[float],
        reference: ReferencePrice = "auto",
        gap_policy: GapPolicy | None = None,
        require_target: bool = True,
    ) -> WindowDataset:
        """Stack symbols, compute float64 targets, and index every valid sample end.

        ``gap_policy`` defaults to the BarSpec's. ``require_target`` drops samples whose
        targets are all missing (e.g. the last bar of a segment).
        """
        stacked = BarTensor.from_bars(bars)
        policy = gap_policy or bars[0].spec.gap_policy
        per_symbol = [targets_for(b, horizons_seconds, reference) for b in bars]
        references = {t.reference for t in per_symbol}
        if len(references) > 1:
            raise ValueError(
                f"symbols resolve to different reference prices {sorted(references)} "
                "(some have quotes, some not); pass reference='mid' or 'close' explicitly"
            )
        returns = np.concatenate([t.returns_bps for t in per_symbol])
        ends, crosses = window_ends(stacked.segment_id, stacked.symbol_id, window, policy)
        valid = np.isfinite(returns)
        mask = valid.copy()
        mask[ends[crosses]] = False  # mask policy: a gap inside the window voids the sample
        if require_target:
            # Gap-crossing samples (mask policy) stay, flagged by an all-False mask row.
            ends = ends[valid[ends].any(axis=1)]
        return cls(
            stacked,
            torch.from_numpy(np.nan_to_num(returns, nan=0.0).astype(np.float32)),
            torch.from_numpy(mask),
            ends,
            window,
            per_symbol[0].horizon_bars,
            per_symbol[0].reference,
        )

    def __len__(self) -> int:
        return len(self.ends)

    def to(self, device: torch.device | str) -> WindowDataset:
        """The same samples with tensors on ``device``."""
        return self._with_ends(self.ends, device)

    def subset(self, ends: I64) -> WindowDataset:
        """A dataset over some of these sample ends (e.g. one split); tensors are shared."""
        ends = np.asarray(ends, dtype=np.int64)
        unknown = np.setdiff1d(ends, self.ends)
        if len(unknown):
            raise ValueError(
                f"{len(unknown)} end indices are not samples of this dataset, e.g. {unknown[:3]}"
            )
        return self._with_ends(ends, self.device)

    def _with_ends(self, ends: I64, device: torch.device | str) -> WindowDataset:
        out = WindowDataset.__new__(WindowDataset)
        out.__dict__.update(self.__dict__)
        out.ends = ends
        out.device = torch.device(device)
        out._values = self._values.to(out.device)
        out._targets = self._targets.to(out.device)
        out._mask = self._mask.to(out.device)
        out._ends = torch.from_numpy(ends).to(out.device)
        out._offsets = self._offsets.to(out.device)
        return out

    def gather(
        self, batch: torch.Tensor | Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(bars [B, W, C], targets [B, H], mask [B, H])`` for sample positions ``batch``."""
        positions = torch.as_tensor(batch, dtype=torch.long, device=self.device)
        end = self._ends[positions]
        rows = end[:, None] + self._offsets
        return self._values[rows], self._targets[end], self._mask[end]

    def batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Batches over all samples (last one may be smaller); shuffled with ``generator``."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for start in range(0, n, batch_size):
            yield self.gather(order[start : start + batch_size].to(self.device))

    def targets_numpy(self) -> tuple[F64, np.ndarray]:
        """``(targets [N, H] float64 with NaN where masked, mask [N, H])`` of every sample."""
        t = self._targets[self._ends].double().cpu().numpy()
        m = self._mask[self._ends].cpu().numpy()
        return np.where(m, t, np.nan), m

    def spans(self) -> SampleSpans:
        """Times of each sample's end bar, first window bar and last bar its targets read."""
        ts = self.bar_tensor.ts_ns
        seg = self.bar_tensor.segment_id
        first = self.ends - (self.window - 1)
        last = np.minimum(self.ends + max(self.horizon_bars), len(ts) - 1)
        # Targets never read past the segment of the end bar.
        seg_last = _segment_last_index(seg)
        last = np.minimum(last, seg_last[self.ends])
        return SampleSpans(end_ts=ts[self.ends], first_ts=ts[first], last_ts=ts[last])


def _segment_last_index(segment_id: I64) -> I64:
    T = len(segment_id)
    is_last = np.ones(T, dtype=bool)
    if T > 1:
        is_last[:-1] = segment_id[1:] != segment_id[:-1]
    last_positions = np.flatnonzero(is_last)
    return last_positions[np.searchsorted(last_positions, np.arange(T))]
