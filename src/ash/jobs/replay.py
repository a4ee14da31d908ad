"""Replay real ticks through the Rust runtime (``ash-serve --stdin``) and check it against Python.

One code path for ``ash replay`` (whole days of a DuckDB store, several symbols at once) and for
the main job's last step (a stretch of test-span ticks): the ticks become protocol lines in the
bar builder's own arrival order (symbols interleaved by time), ``ash-serve`` serves the exported
model on them, and its answers are checked against Python — the Rust bars against the Python bar
builder's (bit for bit), the Rust probabilities against Python ONNX Runtime on those bars, the
served summaries against :mod:`ash.decoding`. It reports counts, rejects and the served latency,
and keeps the served forecasts as a tidy table (:mod:`ash.evaluate.forecasts`). A model with
``ctx_*`` columns gets its context symbol's ticks (``ash.context_symbol``) in the same stream.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnxruntime as ort
import pandas as pd
import yaml

from ash.bars.builder import build_bars
from ash.bars.columns import CONTEXT_PREFIX
from ash.bars.result import Bars
from ash.bars.spec import BarSpec
from ash.data.windows import gather_windows, window_ends
from ash.decoding import decode
from ash.evaluate.forecasts import forecast_frame
from ash.jobs.serve_io import Feeds, feed_lines, serve_stdin
from ash.onnx_io import cpu_session
from ash.run_files import CONFIG_FILE, ENSEMBLE_FILE
from ash.runtime import build_command, resolve_model

if TYPE_CHECKING:
    from ash.config import ResolvedExperiment

PROB_TOLERANCE = 1e-5
ONNX_BATCH = 256  # windows per Python ONNX Runtime call (a day of 1 s bars is ~23k windows)


class ReplayError(RuntimeError):
    """The Rust runtime disagreed with Python, or could not serve the replay."""


@dataclass
class ReplayResult:
    ticks: int
    bars: int
    predictions: int
    bars_equal: bool
    max_prob_diff: float
    rejected: dict[str, int] = field(default_factory=dict)
    latency_p50_us: float = float("nan")
    latency_p99_us: float = float("nan")
    symbols: tuple[str, ...] = ()
    lines: int = 0
    bars_python: int = 0
    max_summary_diff: float = float("nan")
    latency_us: dict[str, float] = field(default_factory=dict)
    forecasts: pd.DataFrame | None = None  # the served predictions, one row per bar x horizon
    predictions_by_symbol: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.bars_equal and self.max_prob_diff <= PROB_TOLERANCE and self.predictions > 0


@dataclass(frozen=True)
class ContractModel:
    """What a contract-v1 model declares about its inputs and outputs (its metadata)."""

    path: Path
    spec: BarSpec
    columns: tuple[str, ...]
    window: int
    horizons_s: tuple[float, ...]
    context_symbol: str | None = None  # the symbol its ctx_* columns come from


def _metadata(session: ort.InferenceSession) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in session.get_modelmeta().custom_metadata_map.items()}


def contract_model(
    model_path: Path, session_window: str | None, ort_session: ort.InferenceSession | None = None
) -> ContractModel:
    """The bar spec, columns, window and horizons a contract-v1 model declares
    (``ort_session``: the model already open, so it is not loaded a second time)."""
    props = _metadata(ort_session if ort_session is not None else cpu_session(model_path))
    spec = BarSpec(
        seconds=props["ash.bar_seconds"],
        timezone=props["ash.timezone"],
        gap_seconds=props["ash.gap_seconds"],
        gap_policy=props["ash.gap_policy"],
        session=session_window,
    )
    horizons = tuple(float(h) for h in props["ash.horizons"])
    columns = tuple(props["ash.bar_columns"])
    context = None
    if any(c.startswith(CONTEXT_PREFIX) for c in columns):
        context = props.get("ash.context_symbol")
        if not isinstance(context, str):
            raise ReplayError(
                f"{model_path} reads ctx_* columns but names no context symbol "
                "(ash.context_symbol); re-export it from a run whose data.context_symbol is set"
            )
    return ContractModel(
        Path(model_path), spec, columns, int(props["ash.window"]), horizons, context
    )


def model_context_symbol(model_path: Path) -> str | None:
    """The context symbol a model reads ``ctx_*`` columns from (None when it reads none)."""
    return contract_model(model_path, None).context_symbol


def model_bar_spec(model_path: Path, session_window: str | None) -> tuple[BarSpec, list[str], int]:
    """The bar spec, column order and window a contract-v1 model declares in its metadata."""
    model = contract_model(model_path, session_window)
    return model.spec, list(model.columns), model.window


def prediction_ends(bars: Bars, window: int) -> np.ndarray:
    """The bars a server predicts on: each with a full window under the spec's gap policy."""
    symbol_id = np.zeros(len(bars), dtype=np.int64)
    ends, _ = window_ends(bars.segment_id, symbol_id, window, bars.spec.gap_policy)
    return ends


def model_inputs(bars: Bars, columns: Sequence[str]) -> np.ndarray:
    """``bars.values`` in the model's column order (a clear error when one is missing)."""
    missing = [c for c in columns if c not in bars.columns]
    if missing:
        raise ReplayError(
            f"the model reads bar columns {missing} that these bars lack (built with "
            f"{', '.join(bars.columns)}); build the bars with the model's spec"
        )
    return bars.values[:, [bars.columns.index(c) for c in columns]]


def onnx_outputs(
    session: ort.InferenceSession, values: np.ndarray, ends: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(probs[N, H, K], edges[N, H, K + 1])`` of the windows ending at ``ends``, in batches."""
    x = np.asarray(values, dtype=np.float32)
    probs, edges = [], []
    for start in range(0, len(ends), ONNX_BATCH):
        batch = gather_windows(x, ends[start : start + ONNX_BATCH], window)
        p, e = session.run(["probs", "edges"], {"bars": np.ascontiguousarray(batch)})
        probs.append(p)
        edges.append(e)
    if not probs:
        raise ReplayError(f"no bar has a full window of {window} bars; replay more ticks")
    return np.concatenate(probs), np.concatenate(edges)


def replay_ticks(
    model_path: Path,
    feeds: Feeds,
    *,
    session_window: str | None = None,
    bucket_probs: bool = False,
    served_symbols: Sequence[str] | None = None,
) -> ReplayResult:
    """Serve ``model_path`` with ash-serve on every symbol's ticks and compare with Python;
    ``bucket_probs``: the served forecasts keep each row's ``probs`` and ``edges``;
    ``served_symbols``: those predicted and compared (default: every symbol in ``feeds``; a
    context symbol's ticks feed the ctx_* columns either way)."""
    session = cpu_session(model_path)
    model = contract_model(model_path, session_window, session)
    context_bars = None
    if model.context_symbol is not None:
        if model.context_symbol not in feeds:
            raise ReplayError(
                f"the model reads ctx_* columns of {model.context_symbol!r}; include its ticks "
                f"in the replay (got {sorted(feeds)})"
            )
        ctx_trades, ctx_quotes = feeds[model.context_symbol]
        context_bars = build_bars(
            ctx_trades, ctx_quotes, spec=model.spec, symbol=model.context_symbol
        )
    names = list(feeds) if served_symbols is None else list(served_symbols)
    argv, env = build_command(
        model_path, stdin=True, session=session_window, log_every=0, symbols=names
    )
    served = serve_stdin([*argv, "--emit-bars"], env, feed_lines(feeds))

    bars_equal = bool(served.bars)
    n_python_bars = 0
    python: dict[str, tuple[dict[int, int], np.ndarray]] = {}
    for symbol in names:
        trades, quotes = feeds[symbol]
        bars = build_bars(trades, quotes, spec=model.spec, symbol=symbol, context=context_bars)
        n_python_bars += len(bars)
        values = model_inputs(bars, model.columns)
        by_ts = {int(ts): i for i, ts in enumerate(bars.ts_ns)}
        rust = served.bars.get(symbol, {})
        bars_equal &= all(
            ts in by_ts and np.array_equal(values[by_ts[ts]], v) for ts, v in rust.items()
        )
        python[symbol] = (by_ts, values)

    predictions = served.predictions
    max_diff = max_summary = float("nan")
    frame = None
    if predictions:
        if any(p.probs is None or p.edges is None for p in predictions):
            raise ReplayError("ash-serve answered summaries only; the replay needs probs/edges")
        rust_probs = np.stack([p.probs for p in predictions if p.probs is not None])
        rust_edges = np.stack([p.edges for p in predictions if p.edges is not None])
        python_probs = np.empty_like(rust_probs, dtype=np.float32)
        symbols = np.array([p.symbol for p in predictions], dtype=object)
        bar_ts = np.array([p.bar_ts for p in predictions], dtype=np.int64)
        for symbol in np.unique(symbols):
            rows = np.flatnonzero(symbols == symbol)
            by_ts, values = python[str(symbol)]
            unknown = [int(t) for t in bar_ts[rows] if int(t) not in by_ts]
            if unknown:
                raise ReplayError(
                    f"ash-serve predicted {symbol} on {len(unknown)} bar(s) the Python bar "
                    f"builder did not make (first at {pd.Timestamp(unknown[0], tz='UTC')})"
                )
            ends = np.array([by_ts[int(t)] for t in bar_ts[rows]], dtype=np.int64)
            python_probs[rows] = onnx_outputs(session, values, ends, model.window)[0]
        max_diff = float(np.abs(rust_probs - python_probs).max())
        served_summaries = np.stack([p.summaries for p in predictions])
        max_summary = _summary_diff(served_summaries, rust_probs, rust_edges)
        frame = forecast_frame(
            bar_ts, symbols, model.horizons_s, rust_probs, rust_edges, bucket_probs=bucket_probs
        )
    stats = served.stats or {}
    latency = {k: float(v) for k, v in (stats.get("latency_us") or {}).items() if v is not None}
    return ReplayResult(
        ticks=int(stats.get("ticks_accepted", 0)),
        bars=sum(len(b) for b in served.bars.values()),
        predictions=len(predictions),
        bars_equal=bars_equal,
        max_prob_diff=max_diff,
        rejected=dict(stats.get("rejected") or {}),
        latency_p50_us=latency.get("p50", float("nan")),
        latency_p99_us=latency.get("p99", float("nan")),
        symbols=tuple(names),
        lines=served.lines,
        bars_python=n_python_bars,
        max_summary_diff=max_summary,
        latency_us=latency,
        forecasts=frame,
        predictions_by_symbol={s: sum(p.symbol == s for p in predictions) for s in names},
    )


def _summary_diff(served: np.ndarray, probs: np.ndarray, edges: np.ndarray) -> float:
    """Largest gap between the served mean/P(up/flat/down) ``[N, H, 4]`` and
    :mod:`ash.decoding` of the served probabilities: the Rust decoder and the Python one give
    the same summaries (one definition)."""
    d = decode(probs, edges)
    mine = np.stack([d.mean_bps, d.p_up, d.p_flat, d.p_down], axis=-1)
    return float(np.abs(served - mine).max())


def read_store_ticks(
    db: Path, symbol: str, start: pd.Timestamp | None, end: pd.Timestamp | None
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """One symbol's canonical trades and quotes in ``[start, end)`` from a DuckDB store."""
    # Here, not at the top: the store's package reads ash.interfaces, which imports torch, and
    # the ONNX predictor (ash.load_model) imports this module without needing torch or a store.
    from ash.data.sources.store import DuckDBStore

    if not Path(db).is_file():
        raise ReplayError(f"{db}: no such DuckDB store; import data with `ash data import`")
    store = DuckDBStore(str(db), read_only=True)
    try:
        frames = {
            kind: store.read_all(kind, [symbol], start, end) if store.has(kind) else None
            for kind in ("trades", "quotes")
        }
    finally:
        store.close()
    return frames["trades"], frames["quotes"]


def replay_store(
    run_or_model: Path,
    db: Path,
    symbols: Sequence[str],
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    *,
    session_window: str | None = None,
    bucket_probs: bool = False,
) -> ReplayResult:
    """``ash replay``: the store's ticks of ``symbols`` in ``[start, end)`` through ash-serve.

    ``start``/``end`` are dates or times (UTC unless they carry a zone; a bare date ``end`` is
    exclusive, so ``--start 2013-10-09 --end 2013-10-10`` is one whole day).
    """
    if not symbols:
        raise ReplayError("name at least one symbol to replay")
    model_path = resolve_model(Path(run_or_model))
    if session_window is None and Path(run_or_model).is_dir():
        session_window = run_session(Path(run_or_model))
    lo, hi = utc_timestamp(start), utc_timestamp(end)
    if hi <= lo:
        raise ReplayError(f"end {hi} is not after start {lo}")
    context = model_context_symbol(model_path)
    feeds: dict[str, tuple[pd.DataFrame | None, pd.DataFrame | None]] = {}
    for symbol in [*symbols, *([context] if context and context not in symbols else [])]:
        trades, quotes = read_store_ticks(db, symbol, lo, hi)
        if (trades is None or trades.empty) and (quotes is None or quotes.empty):
            raise ReplayError(f"{db} has no trades or quotes for {symbol!r} in [{lo}, {hi})")
        feeds[symbol] = (trades, quotes)
    return replay_ticks(
        model_path,
        feeds,
        session_window=session_window,
        bucket_probs=bucket_probs,
        served_symbols=list(symbols),
    )


def replay_run(
    run_dir: Path,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    *,
    symbols: Sequence[str] | None = None,
    bucket_probs: bool = False,
    resolved: ResolvedExperiment | None = None,
) -> ReplayResult:
    """``ash replay RUN`` without ``--db``: ``RUN/model.onnx`` on the run's own data source in
    ``[start, end)`` — the ticks of ``symbols`` (default: the experiment's) and of its context
    symbol, all at once, with the run's trading session. ``resolved``: the experiment whose
    source to read (default: the run's own config; an ensemble folder has none)."""
    # Here, not at the top: the pipeline imports torch; the ONNX-only path never comes here.
    from ash.pipeline import make_source
    from ash.runs import load_config

    if resolved is None:
        resolved = load_config(Path(run_dir))
    exp = resolved.experiment
    served = list(symbols or exp.data.symbols)
    wanted = [*served]
    if exp.data.context_symbol is not None and exp.data.context_symbol not in wanted:
        wanted.append(exp.data.context_symbol)
    lo, hi = utc_timestamp(start), utc_timestamp(end)
    if hi <= lo:
        raise ReplayError(f"end {hi} is not after start {lo}")
    source = make_source(resolved)
    feeds: dict[str, tuple[pd.DataFrame | None, pd.DataFrame | None]] = {}
    for symbol in wanted:
        frames: dict[str, pd.DataFrame | None] = {}
        for kind in ("trades", "quotes"):
            if kind in source.event_kinds():
                chunks = [c for c in source.read(kind, [symbol], lo, hi) if len(c)]
                frames[kind] = pd.concat(chunks, ignore_index=True) if chunks else None
        if frames.get("trades") is None:
            raise ReplayError(f"no trades for {symbol} in [{lo}, {hi}) in the run's data source")
        feeds[symbol] = (frames.get("trades"), frames.get("quotes"))
    return replay_ticks(
        resolve_model(Path(run_dir)),
        feeds,
        session_window=exp.bars.session,
        bucket_probs=bucket_probs,
        served_symbols=served,
    )


def run_session(run_dir: Path) -> str | None:
    """The trading window a run's bars were built with (its config's ``bars.session``); for an
    ensemble folder (no config, an ensemble.json), its members' window when they all agree."""
    config = run_dir / CONFIG_FILE
    if not config.is_file():
        ensemble = run_dir / ENSEMBLE_FILE
        if not ensemble.is_file():
            return None
        members = json.loads(ensemble.read_text())["members"]
        sessions = {run_session(Path(member)) for member in members}
        return sessions.pop() if len(sessions) == 1 else None
    raw = yaml.safe_load(config.read_text()) or {}
    session = (raw.get("bars") or {}).get("session")
    return str(session) if session else None


def utc_timestamp(value: str | pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
