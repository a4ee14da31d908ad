"""From a resolved experiment to training data: bars, targets, masks and split indices.

Source (plugin) → events per symbol, read in chunks → bar builder → ONE contiguous bar array
``[T, C]`` holding every symbol back to back. Samples are *indices* of a window's last bar into
that array, so a window is a view (``bars[end - W + 1 : end + 1]``), never a copy, and the
trainer gathers batches of windows by index on the device.

Built bars are cached under ``<experiments>/cache/<fingerprint>.npz``; the fingerprint hashes
everything that determines the bars (source kind and config, symbols, context symbol, range,
options flag, bar spec, bar-column and pipeline versions) and goes into every run's metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ash.bars.builder import build_bars
from ash.bars.columns import BAR_COLUMNS_VERSION
from ash.bars.result import Bars
from ash.bars.spec import BarSpec
from ash.config.resolve import ResolvedExperiment
from ash.config.schema import Experiment, SplitConfig
from ash.interfaces import Source

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

PIPELINE_VERSION: Final[int] = 1  # bump when the cached arrays change meaning
CHUNK_ROWS: Final[int] = 1_000_000


class DataPipelineError(ValueError):
    """The experiment's data cannot produce training samples (says what and what to do)."""


@dataclass(frozen=True)
class BarData:
    """Bars of every symbol back to back: the model-independent, cacheable part."""

    columns: tuple[str, ...]
    values: F64  # [T, C]
    ts_ns: I64  # [T] bar start, UTC ns
    symbol_index: I64  # [T] index into ``symbols``
    segment_id: I64  # [T] globally increasing; a new id at every session start/gap/symbol
    symbols: tuple[str, ...]
    has_quotes: tuple[bool, ...]
    bar_seconds: float
    fingerprint: str
    stats: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ts_ns)

    @property
    def bar_ns(self) -> int:
        return round(self.bar_seconds * 1e9)

    def column(self, name: str) -> F64:
        try:
            return self.values[:, self.columns.index(name)]
        except ValueError:
            raise KeyError(f"no bar column {name!r}; columns: {', '.join(self.columns)}") from None


@dataclass(frozen=True)
class Samples:
    """Window-end bar indices of each split (sorted, disjoint, purged)."""

    train: I64
    val: I64
    test: I64

    def as_dict(self) -> dict[str, I64]:
        return {"train": self.train, "val": self.val, "test": self.test}


def bar_spec(experiment: Experiment) -> BarSpec:
    bars = experiment.bars
    return BarSpec(
        seconds=bars.seconds,
        timezone=bars.timezone,
        session=bars.session,
        gap_seconds=bars.gap_seconds,
        gap_policy=bars.gap_policy,
    )


def data_fingerprint(resolved: ResolvedExperiment) -> str:
    """Hash of everything that determines the bars (not the horizons, splits or model)."""
    exp = resolved.experiment
    source = resolved.component("data.source")
    key = {
        "source": {"kind": source.info.name, "config": source.config.model_dump(mode="json")},
        "symbols": list(exp.data.symbols),
        "context_symbol": exp.data.context_symbol,
        "start": exp.data.start,
        "end": exp.data.end,
        "options": exp.data.options,
        "bar_spec": bar_spec(exp).model_dump(mode="json"),
        "bar_columns_version": BAR_COLUMNS_VERSION,
        "pipeline_version": PIPELINE_VERSION,
    }
    blob = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def make_source(resolved: ResolvedExperiment) -> Source:
    source = resolved.component("data.source")
    instance = source.cls(source.config)  # type: ignore[call-arg]
    if not isinstance(instance, Source):
        raise TypeError(f"data.source {source.info.name!r} is not a Source")
    return instance


def _timestamp(value: str | None) -> pd.Timestamp | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _concat(chunks: Iterable[pd.DataFrame]) -> pd.DataFrame | None:
    frames = [c for c in chunks if len(c)]
    if not frames:
        return None
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _build_symbol(
    source: Source,
    symbol: str,
    exp: Experiment,
    spec: BarSpec,
    context: Bars | None,
    with_options: bool,
) -> Bars:
    """Read one symbol's events chunk by chunk and build its bars."""
    start, end = _timestamp(exp.data.start), _timestamp(exp.data.end)
    kinds = source.event_kinds()
    trades = quotes = surface = None
    if "trades" in kinds:
        trades = _concat(source.read("trades", [symbol], start, end, CHUNK_ROWS))
    if "quotes" in kinds:
        quotes = _concat(source.read("quotes", [symbol], start, end, CHUNK_ROWS))
    if trades is None and quotes is None:
        raise DataPipelineError(
            f"source {source.name!r} returned no trades or quotes for symbol {symbol!r} in "
            f"[{exp.data.start}, {exp.data.end}); check data.symbols (available: "
            f"{', '.join(source.symbols()[:20])}) and data.start/end"
        )
    if with_options:
        if "options" not in kinds:
            raise DataPipelineError(
                f"data.options is true but source {source.name!r} has no option snapshots; "
                "set data.options: false"
            )
        surface = _surface(source, symbol, start, end, spec)
    return build_bars(
        trades,
        quotes,
        spec=spec,
        surface=surface,
        context=context,
        symbol=symbol,
        options=with_options,
    )


def _surface(
    source: Source, symbol: str, start: pd.Timestamp | None, end: pd.Timestamp | None, spec: BarSpec
) -> pd.DataFrame | None:
    try:
        import importlib

        surface_mod = importlib.import_module("ash.bars.surface")  # option-surface columns
    except ImportError as exc:
        raise DataPipelineError(
            "data.options is true but this ash has no option-surface aggregation "
            "(ash.bars.surface); set data.options: false"
        ) from exc
    snapshots = _concat(source.read("options", [symbol], start, end, CHUNK_ROWS))
    if snapshots is None:
        return None
    result: pd.DataFrame = surface_mod.surface_updates(snapshots)
    return result


def build_bar_data(resolved: ResolvedExperiment, fingerprint: str) -> BarData:
    """Run source → bar builder for every symbol (no cache)."""
    exp = resolved.experiment
    source = make_source(resolved)
    spec = bar_spec(exp)
    context = None
    if exp.data.context_symbol is not None:
        context = _build_symbol(source, exp.data.context_symbol, exp, spec, None, False)
    parts: list[Bars] = []
    for symbol in exp.data.symbols:
        bars = _build_symbol(source, symbol, exp, spec, context, exp.data.options)
        if len(bars) == 0:
            raise DataPipelineError(
                f"symbol {symbol!r} produced no bars (all events rejected or outside the "
                f"session {exp.bars.session!r}); build stats: {bars.stats.as_dict()}"
            )
        parts.append(bars)
    columns = parts[0].columns
    for bars in parts[1:]:
        if bars.columns != columns:
            raise DataPipelineError(
                f"symbol {bars.symbol!r} has bar columns {bars.columns}, but {parts[0].symbol!r} "
                f"has {columns}; every symbol needs the same event kinds"
            )
    segment_ids = []
    offset = 0
    for bars in parts:
        seg = bars.segment_id + offset
        segment_ids.append(seg)
        offset = int(seg.max()) + 1
    return BarData(
        columns=columns,
        values=np.ascontiguousarray(np.concatenate([b.values for b in parts]), dtype=np.float64),
        ts_ns=np.concatenate([b.ts_ns for b in parts]).astype(np.int64),
        symbol_index=np.concatenate(
            [np.full(len(b), i, dtype=np.int64) for i, b in enumerate(parts)]
        ),
        segment_id=np.concatenate(segment_ids).astype(np.int64),
        symbols=tuple(b.symbol for b in parts),
        has_quotes=tuple(bool(b.has_quotes) for b in parts),
        bar_seconds=exp.bars.seconds,
        fingerprint=fingerprint,
        stats={b.symbol: b.stats.as_dict() for b in parts},
    )


def cache_dir(experiments_root: Path) -> Path:
    return Path(experiments_root) / "cache"


def _save_cache(data: BarData, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    meta = {
        "columns": list(data.columns),
        "symbols": list(data.symbols),
        "has_quotes": list(data.has_quotes),
        "bar_seconds": data.bar_seconds,
        "fingerprint": data.fingerprint,
        "stats": data.stats,
    }
    with open(tmp, "wb") as handle:
        np.savez(
            handle,
            values=data.values,
            ts_ns=data.ts_ns,
            symbol_index=data.symbol_index,
            segment_id=data.segment_id,
            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        )
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _load_cache(path: Path) -> BarData:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode())
            return BarData(
                columns=tuple(meta["columns"]),
                values=z["values"],
                ts_ns=z["ts_ns"],
                symbol_index=z["symbol_index"],
                segment_id=z["segment_id"],
                symbols=tuple(meta["symbols"]),
                has_quotes=tuple(meta["has_quotes"]),
                bar_seconds=float(meta["bar_seconds"]),
                fingerprint=str(meta["fingerprint"]),
                stats=meta["stats"],
            )
    except Exception as exc:
        raise DataPipelineError(
            f"bar cache {path} is unreadable ({type(exc).__name__}: {exc}); delete it and rerun"
        ) from exc


def load_bar_data(
    resolved: ResolvedExperiment, experiments_root: Path, *, use_cache: bool = True
) -> BarData:
    """Bars for the experiment, from the cache when the fingerprint matches."""
    fingerprint = data_fingerprint(resolved)
    path = cache_dir(experiments_root) / f"{fingerprint}.npz"
    if use_cache and path.is_file():
        return _load_cache(path)
    data = build_bar_data(resolved, fingerprint)
    if use_cache:
        _save_cache(data, path)
    return data


# ---------------------------------------------------------------- targets, samples and splits


def horizon_bars(horizons_s: Iterable[float], bar_seconds: float) -> tuple[int, ...]:
    """Each horizon in whole bars (at least one), as :meth:`ModelContext.horizon_bars`."""
    return tuple(max(1, round(h / bar_seconds)) for h in horizons_s)


def forward_returns_bps(data: BarData, reference: str, steps: tuple[int, ...]) -> F64:
    """``[T, H]`` forward log returns (bps) of the reference price; NaN when the horizon leaves
    the bar's segment (session end, gap, next symbol) or the price is not positive."""
    price = data.column(reference)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_p = np.where(price > 0, np.log(np.where(price > 0, price, 1.0)), np.nan)
    n = len(price)
    out = np.full((n, len(steps)), np.nan)
    for j, h in enumerate(steps):
        if h >= n:
            continue
        same = data.segment_id[h:] == data.segment_id[:-h]
        ret = 1e4 * (log_p[h:] - log_p[:-h])
        out[:-h, j] = np.where(same, ret, np.nan)
    return out


def valid_window_ends(data: BarData, window: int) -> I64:
    """Bar indices whose ``window`` bars lie inside one segment (no straddled gap or symbol)."""
    n = len(data)
    if n < window:
        return np.zeros(0, dtype=np.int64)
    ends = np.arange(window - 1, n, dtype=np.int64)
    ok = data.segment_id[ends] == data.segment_id[ends - (window - 1)]
    return np.asarray(ends[ok], dtype=np.int64)


def _time_cuts(ts: I64, fractions: tuple[float, ...]) -> list[int]:
    """Timestamps cutting the sample times at cumulative ``fractions``."""
    sorted_ts = np.sort(ts)
    return [int(sorted_ts[min(len(ts) - 1, round(f * len(ts)))]) for f in fractions]


def split_by_time(
    ends: I64,
    ts_ns: I64,
    bounds: tuple[int, int, int, int],
    purge_ns: int,
) -> Samples:
    """Train ``[b0, b1 - purge)``, val ``[b1, b2 - purge)``, test ``[b2, b3)`` by sample time.

    The purge (window + longest horizon + embargo, in ns) keeps a train target from reaching
    into validation, and a validation target from reaching into test.
    """
    t = ts_ns[ends]
    b0, b1, b2, b3 = bounds
    train = ends[(t >= b0) & (t < b1 - purge_ns)]
    val = ends[(t >= b1) & (t < b2 - purge_ns)]
    test = ends[(t >= b2) & (t < b3)]
    return Samples(train, val, test)


def sample_ends(data: BarData, returns_bps: F64, window: int) -> I64:
    """Valid window ends that have at least one target."""
    ends = valid_window_ends(data, window)
    has_target = np.isfinite(returns_bps[ends]).any(axis=1)
    return ends[has_target]


def make_splits(
    data: BarData,
    returns_bps: F64,
    window: int,
    max_horizon_bars: int,
    split: SplitConfig,
    fold: int | None = None,
) -> Samples:
    """Chronological train/val/test, or walk-forward fold ``fold`` of ``split.walk_forward_folds``.

    Walk-forward: the last ``folds × split.test`` of the timeline is tiled by the folds' test
    blocks; each fold validates on the ``split.val`` just before its test block and trains on
    everything earlier (an expanding window).
    """
    ends = sample_ends(data, returns_bps, window)
    if len(ends) == 0:
        raise DataPipelineError(
            f"no sample has a full window of {window} bars inside one session segment; use a "
            "shorter model window (fewer steps or shorter feature lookbacks) or more data"
        )
    purge_ns = (window + max_horizon_bars + split.embargo_bars) * data.bar_ns
    lo, hi = int(data.ts_ns[ends].min()), int(data.ts_ns[ends].max()) + 1
    if fold is None:
        c1, c2 = _time_cuts(data.ts_ns[ends], (split.train, split.train + split.val))
        samples = split_by_time(ends, data.ts_ns, (lo, c1, c2, hi), purge_ns)
    else:
        folds = split.walk_forward_folds
        if not 0 <= fold < max(folds, 1):
            raise ValueError(f"fold {fold} out of range for {folds} walk-forward folds")
        first_test = 1.0 - folds * split.test
        train_end = first_test + fold * split.test - split.val
        if train_end <= 0.05:
            raise DataPipelineError(
                f"{folds} walk-forward folds × test {split.test} + val {split.val} leave no "
                "training data; lower split.walk_forward_folds or split.test"
            )
        c1, c2, c3 = _time_cuts(
            data.ts_ns[ends],
            (train_end, train_end + split.val, min(1.0, train_end + split.val + split.test)),
        )
        last = fold == folds - 1
        samples = split_by_time(ends, data.ts_ns, (lo, c1, c2, hi if last else c3), purge_ns)
    for name, idx in samples.as_dict().items():
        if len(idx) == 0:
            raise DataPipelineError(
                f"the {name} split is empty after purging {purge_ns / 1e9:g} s around split "
                f"boundaries ({len(ends)} samples in all); use more data (data.start/end, more "
                "days) or a shorter window/horizon"
            )
    return samples


@dataclass(frozen=True)
class PreparedData:
    """Everything the trainer and evaluator need, model-window specific."""

    bars: BarData
    returns_bps: F64  # [T, H]
    horizons_s: tuple[float, ...]
    horizon_steps: tuple[int, ...]
    window: int
    samples: Samples
    reference: str

    @property
    def fingerprint(self) -> str:
        return self.bars.fingerprint


def prepare_data(
    resolved: ResolvedExperiment,
    window: int,
    experiments_root: Path,
    *,
    fold: int | None = None,
    bar_data: BarData | None = None,
) -> PreparedData:
    """Bars (cached) + targets + split indices for a model with ``window`` bars per input."""
    exp = resolved.experiment
    data = bar_data if bar_data is not None else load_bar_data(resolved, experiments_root)
    steps = horizon_bars(exp.horizons, data.bar_seconds)
    # Without quotes the bar builder sets mid = close; notes() puts that in the run's report.
    reference = exp.bars.reference
    returns = forward_returns_bps(data, reference, steps)
    samples = make_splits(data, returns, window, max(steps), exp.split, fold)
    return PreparedData(data, returns, tuple(exp.horizons), steps, window, samples, reference)


def notes(prepared: PreparedData) -> list[str]:
    """Caveats a run's report must state about its data."""
    out = []
    data = prepared.bars
    no_quotes = [s for s, q in zip(data.symbols, data.has_quotes, strict=True) if not q]
    if no_quotes and prepared.reference == "mid":
        out.append(
            f"no quotes for {', '.join(no_quotes)}: the mid is the last trade price, so targets "
            "carry bid-ask bounce"
        )
    return out


def gather_windows(bars: Any, ends: Any, window: int) -> Any:
    """``bars[T, C]`` and ``ends[B]`` → windows ``[B, window, C]`` (torch or numpy)."""
    import torch

    if isinstance(bars, torch.Tensor):
        offsets = torch.arange(-window + 1, 1, device=bars.device)
        return bars[torch.as_tensor(ends, device=bars.device)[:, None] + offsets]
    offsets_np = np.arange(-window + 1, 1)
    return bars[np.asarray(ends)[:, None] + offsets_np]
