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
from ash.bars.spec import BarSpec, GapPolicy
from ash.bars.surface import surface_updates
from ash.config.resolve import ResolvedExperiment
from ash.config.schema import Experiment, SplitConfig
from ash.data import splits, targets, windows
from ash.data.windows import SampleSpans
from ash.interfaces import Source, horizon_bars

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
    """The bar builder's spec: the experiment's ``bars`` section without the target reference."""
    return experiment.bars.spec()


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


def make_source(resolved: ResolvedExperiment) -> Source[Any]:
    source = resolved.component("data.source")
    return source.component_class(Source)(source.config)


def check_source(resolved: ResolvedExperiment) -> str:
    """Open ``data.source`` the way training will, close it, and return its name.

    Every built-in source checks its inputs when it is built (the DuckDB store exists and holds
    event tables; Lean and LOBSTER folders hold their files), so building it is the check:
    ``ash validate`` reports a bad data path as a clear ``DataError`` instead of ``ash train``
    failing later. No database is contacted (SQL engines connect lazily).
    """
    source = make_source(resolved)
    close = getattr(source, "close", None)
    if callable(close):
        close()
    return source.name


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
    source: Source[Any],
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
        surface = _surface(source, symbol, start, end, _spot(trades, quotes))
    return build_bars(
        trades,
        quotes,
        spec=spec,
        surface=surface,
        context=context,
        symbol=symbol,
        options=with_options,
    )


def _spot(
    trades: pd.DataFrame | None, quotes: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray]:
    """The underlying's price path for moneyness: quote mids where there are quotes, else trades."""
    if quotes is not None and not quotes.empty:
        frame, price = quotes, (quotes["bid"] + quotes["ask"]).to_numpy(np.float64) / 2
    elif trades is not None:
        frame, price = trades, trades["price"].to_numpy(np.float64)
    else:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    ts = frame["ts"].dt.tz_convert("UTC").dt.as_unit("ns").array.asi8
    order = np.argsort(ts, kind="stable")
    return ts[order], price[order]


def _surface(
    source: Source[Any],
    symbol: str,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    spot: tuple[np.ndarray, np.ndarray],
) -> pd.DataFrame | None:
    """Option-surface columns from the chain snapshots, priced against the underlying's path."""
    snapshots = _concat(source.read("options", [symbol], start, end, CHUNK_ROWS))
    if snapshots is None:
        return None
    return surface_updates(snapshots, spot[0], spot[1])


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
    return stack_bars(parts, exp.bars.seconds, fingerprint)


def stack_bars(parts: list[Bars], bar_seconds: float, fingerprint: str) -> BarData:
    """Every symbol's bars back to back, with segment ids made unique across symbols."""
    if not parts:
        raise DataPipelineError("no symbol produced bars; list at least one in data.symbols")
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
        bar_seconds=bar_seconds,
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


def forward_returns_bps(data: BarData, reference: str, steps: tuple[int, ...]) -> F64:
    """``[T, H]`` forward log returns (bps) of the reference price (see ash.data.targets)."""
    return targets.forward_returns_bps(data.column(reference), data.segment_id, steps)


def sample_ends(data: BarData, returns_bps: F64, window: int, gap_policy: GapPolicy) -> I64:
    """Window ends with a full window inside one symbol and at least one target. Windows that
    straddle a gap are dropped under either policy (``mask`` would void them anyway)."""
    ends, crosses = windows.window_ends(data.segment_id, data.symbol_index, window, gap_policy)
    ends = ends[~crosses]
    return np.asarray(ends[np.isfinite(returns_bps[ends]).any(axis=1)], dtype=np.int64)


def sample_spans(data: BarData, ends: I64, window: int, max_horizon_bars: int) -> SampleSpans:
    """Time of each sample's end bar, first bar read and last target bar (for purging)."""
    last = np.minimum(ends + max_horizon_bars, len(data) - 1)
    return SampleSpans(
        end_ts=data.ts_ns[ends], first_ts=data.ts_ns[ends - (window - 1)], last_ts=data.ts_ns[last]
    )


def make_splits(
    data: BarData,
    returns_bps: F64,
    window: int,
    max_horizon_bars: int,
    split: SplitConfig,
    gap_policy: GapPolicy = "reset",
    fold: int | None = None,
    timezone: str = "America/New_York",
) -> Samples:
    """Train/val/test by fractions or by session dates (``split.dates``, local ``timezone``), or
    walk-forward fold ``fold`` (:func:`ash.data.splits.split_samples`; purged by window + longest
    horizon + embargo at every boundary)."""
    ends = sample_ends(data, returns_bps, window, gap_policy)
    if len(ends) == 0:
        raise DataPipelineError(
            f"no sample has a full window of {window} bars inside one session segment; use a "
            "shorter model window (fewer steps or shorter feature lookbacks) or more data"
        )
    spans = sample_spans(data, ends, window, max_horizon_bars)
    try:
        parts = splits.split_samples(
            ends,
            spans,
            window=window,
            max_horizon_bars=max_horizon_bars,
            bar_seconds=data.bar_seconds,
            config=split,
            walk_forward_folds=split.walk_forward_folds,
            walk_forward_step=split.walk_forward_step,
            fold=fold,
            timezone=timezone,
        )
    except ValueError as exc:
        raise DataPipelineError(str(exc)) from exc
    samples = Samples(parts.train, parts.val, parts.test)
    for name, idx in samples.as_dict().items():
        if len(idx) == 0:
            raise DataPipelineError(
                f"the {name} split is empty after purging window + longest horizon + embargo "
                f"around split boundaries ({len(ends)} samples in all); use more data "
                "(data.start/end, more days) or a shorter window/horizon"
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
    samples = make_splits(
        data,
        returns,
        window,
        max(steps),
        exp.split,
        exp.bars.gap_policy,
        fold,
        exp.bars.timezone,
    )
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
