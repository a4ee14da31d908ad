"""Replay real ticks through the Rust runtime (``ash-serve --stdin``) and check it against Python.

The main job ends with this: the exported model served by Rust on a stretch of test-span ticks,
with the Rust bars compared to the Python bar builder's (bit for bit) and the Rust
probabilities compared to Python ONNX Runtime on those bars. It also reports the served latency.
Several symbols are replayed at once as one time-merged tick stream; a model with ``ctx_*``
columns gets its context symbol's ticks in that stream too (``ash.context_symbol``).
"""

from __future__ import annotations

import heapq
import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ash.bars.builder import build_bars
from ash.bars.columns import CONTEXT_PREFIX
from ash.bars.events import QUOTE, TRADE, merge_feeds
from ash.bars.spec import BarSpec
from ash.onnx_io import cpu_session
from ash.pipeline import make_source
from ash.runs import load_config
from ash.runtime import build_command

PROB_TOLERANCE = 1e-5


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
    predictions_by_symbol: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.bars_equal and self.max_prob_diff <= PROB_TOLERANCE and self.predictions > 0


def _ns(ts: pd.Series) -> np.ndarray:
    return ts.to_numpy(dtype="datetime64[ns]").astype(np.int64)


@dataclass(frozen=True)
class Feed:
    """One symbol's canonical trades (and quotes, if any) to replay."""

    trades: pd.DataFrame
    quotes: pd.DataFrame | None = None


def tick_lines(trades: pd.DataFrame, quotes: pd.DataFrame | None, symbol: str) -> list[str]:
    """Canonical trades/quotes as protocol lines, in the bar builder's own arrival order."""
    return [line for _, line in _timed_lines(trades, quotes, symbol)]


def merged_tick_lines(feeds: Mapping[str, Feed]) -> list[str]:
    """Every symbol's lines in one stream, merged by timestamp; each symbol keeps its own
    arrival order (ties go to the symbol listed first)."""
    streams = [_timed_lines(f.trades, f.quotes, s) for s, f in feeds.items()]
    return [line for _, line in heapq.merge(*streams, key=lambda item: item[0])]


def _timed_lines(
    trades: pd.DataFrame, quotes: pd.DataFrame | None, symbol: str
) -> list[tuple[int, str]]:
    stream = merge_feeds(
        (
            _ns(trades["ts"]),
            trades["price"].to_numpy(np.float64),
            trades["size"].to_numpy(np.float64),
            trades["side"].to_numpy(np.float64),
        ),
        None
        if quotes is None or quotes.empty
        else (
            _ns(quotes["ts"]),
            quotes["bid"].to_numpy(np.float64),
            quotes["ask"].to_numpy(np.float64),
            quotes["bid_size"].to_numpy(np.float64),
            quotes["ask_size"].to_numpy(np.float64),
        ),
        None,
    )
    lines = []
    for kind, ts, x0, x1, x2, x3 in zip(
        stream.kind, stream.ts_ns, stream.x0, stream.x1, stream.x2, stream.x3, strict=True
    ):
        if kind == TRADE:
            fields: dict[str, Any] = {"type": "trade", "price": x0, "size": x1, "side": x2}
        elif kind == QUOTE:
            fields = {"type": "quote", "bid": x0, "ask": x1, "bid_size": x2, "ask_size": x3}
        else:
            raise ReplayError(f"unexpected event kind {kind} in a trades/quotes replay")
        lines.append((int(ts), json.dumps({**fields, "symbol": symbol, "ts": int(ts)})))
    return lines


def _model_props(model_path: Path) -> dict[str, Any]:
    meta = cpu_session(model_path)
    return {k: json.loads(v) for k, v in meta.get_modelmeta().custom_metadata_map.items()}


def model_context_symbol(model_path: Path) -> str | None:
    """The context symbol a model reads ``ctx_*`` columns from (None when it reads none)."""
    props = _model_props(model_path)
    if not any(c.startswith(CONTEXT_PREFIX) for c in props["ash.bar_columns"]):
        return None
    symbol = props.get("ash.context_symbol")
    if not isinstance(symbol, str):
        raise ReplayError(
            f"{model_path} reads ctx_* columns but names no context symbol (ash.context_symbol); "
            "re-export it from a run whose data.context_symbol is set"
        )
    return symbol


def model_bar_spec(model_path: Path, session_window: str | None) -> tuple[BarSpec, list[str], int]:
    """The bar spec, column order and window a contract-v1 model declares in its metadata."""
    props = _model_props(model_path)
    spec = BarSpec(
        seconds=props["ash.bar_seconds"],
        timezone=props["ash.timezone"],
        gap_seconds=props["ash.gap_seconds"],
        gap_policy=props["ash.gap_policy"],
        session=session_window,
    )
    return spec, list(props["ash.bar_columns"]), int(props["ash.window"])


def replay(
    model_path: Path,
    trades: pd.DataFrame,
    quotes: pd.DataFrame | None,
    symbol: str,
    *,
    session_window: str | None = None,
    timeout_s: float = 600.0,
    context: Feed | None = None,
) -> ReplayResult:
    """Serve ``model_path`` with ash-serve on one symbol's ticks and compare with Python
    (``context``: the context symbol's ticks, for a model with ctx_* columns)."""
    feeds = {symbol: Feed(trades, quotes)}
    context_symbol = model_context_symbol(model_path)
    if context is not None and context_symbol is not None:
        feeds[context_symbol] = context
    return replay_symbols(
        model_path, feeds, session_window=session_window, timeout_s=timeout_s, served=[symbol]
    )


def replay_symbols(
    model_path: Path,
    feeds: Mapping[str, Feed],
    *,
    session_window: str | None = None,
    timeout_s: float = 600.0,
    served: list[str] | None = None,
) -> ReplayResult:
    """Serve ``model_path`` with ash-serve on the time-merged ticks of every symbol in ``feeds``
    (the context symbol's included, if the model has one) and compare with Python: bars bit for
    bit, probabilities within PROB_TOLERANCE on the same windows. ``served``: the symbols
    whose predictions and bars are compared (default: every symbol in ``feeds``)."""
    spec, columns, window = model_bar_spec(model_path, session_window)
    context_symbol = model_context_symbol(model_path)
    context_bars = None
    if context_symbol is not None:
        if context_symbol not in feeds:
            raise ReplayError(
                f"the model reads ctx_* columns of {context_symbol!r}; include its ticks in the "
                f"replay (got {sorted(feeds)})"
            )
        ctx = feeds[context_symbol]
        context_bars = build_bars(ctx.trades, ctx.quotes, spec=spec, symbol=context_symbol)
    served = list(feeds) if served is None else served
    argv, env = build_command(
        model_path, stdin=True, session=session_window, log_every=0, symbols=served
    )
    argv.append("--emit-bars")
    lines = [*merged_tick_lines(feeds), '{"type":"stats"}']
    completed = subprocess.run(
        argv,
        input="\n".join(lines) + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if completed.returncode != 0:
        raise ReplayError(
            f"ash-serve exited with {completed.returncode}: {completed.stderr[-2000:]}"
        )
    messages = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    stats = next((m for m in messages if m.get("type") == "stats"), None)
    if stats is None:
        raise ReplayError("ash-serve answered no stats line")

    bars_equal = True
    n_bars = n_predictions = 0
    max_diff = float("nan")
    by_symbol: dict[str, int] = {}
    session = cpu_session(model_path)
    for symbol in served:
        feed = feeds[symbol]
        bars = build_bars(feed.trades, feed.quotes, spec=spec, symbol=symbol, context=context_bars)
        python_values = bars.values[:, [bars.columns.index(c) for c in columns]]
        rust_bars = [m for m in messages if m.get("type") == "bar" and m["symbol"] == symbol]
        by_ts = {int(ts): i for i, ts in enumerate(bars.ts_ns)}
        bars_equal = (
            bars_equal
            and bool(rust_bars)
            and all(
                int(b["ts"]) in by_ts
                and np.array_equal(python_values[by_ts[int(b["ts"])]], b["values"])
                for b in rust_bars
            )
        )
        n_bars += len(rust_bars)
        predictions = [
            m for m in messages if m.get("type") == "prediction" and m["symbol"] == symbol
        ]
        by_symbol[symbol] = len(predictions)
        n_predictions += len(predictions)
        if predictions:
            ends = np.array([by_ts[int(p["bar_ts"])] + 1 for p in predictions])
            x = np.stack([python_values[e - window : e] for e in ends]).astype(np.float32)
            (python_probs,) = session.run(["probs"], {"bars": x})
            rust_probs = np.array([[h["probs"] for h in p["horizons"]] for p in predictions])
            diff = float(np.abs(rust_probs - python_probs).max())
            max_diff = diff if np.isnan(max_diff) else max(max_diff, diff)
    latency = stats.get("latency_us") or {}
    return ReplayResult(
        ticks=int(stats.get("ticks_accepted", 0)),
        bars=n_bars,
        predictions=n_predictions,
        bars_equal=bars_equal,
        max_prob_diff=max_diff,
        rejected=dict(stats.get("rejected") or {}),
        latency_p50_us=float(latency.get("p50", float("nan"))),
        latency_p99_us=float(latency.get("p99", float("nan"))),
        predictions_by_symbol=by_symbol,
    )


def replay_run(
    run_dir: Path,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    symbols: list[str] | None = None,
    timeout_s: float = 600.0,
) -> ReplayResult:
    """Serve ``RUN/model.onnx`` on the run's own data source between ``start`` and ``end``: the
    ticks of ``symbols`` (default: the experiment's) and of its context symbol, all at once."""
    resolved = load_config(run_dir)
    exp = resolved.experiment
    served = list(symbols or exp.data.symbols)
    wanted = [*served]
    if exp.data.context_symbol is not None and exp.data.context_symbol not in wanted:
        wanted.append(exp.data.context_symbol)
    source = make_source(resolved)
    feeds = {}
    for symbol in wanted:
        frames: dict[str, pd.DataFrame | None] = {}
        for kind in ("trades", "quotes"):
            if kind in source.event_kinds():
                chunks = [c for c in source.read(kind, [symbol], start, end) if len(c)]
                frames[kind] = pd.concat(chunks, ignore_index=True) if chunks else None
        trades = frames.get("trades")
        if trades is None:
            raise ReplayError(f"no trades for {symbol} in [{start}, {end}) in the run's source")
        feeds[symbol] = Feed(trades, frames.get("quotes"))
    return replay_symbols(
        Path(run_dir) / "model.onnx",
        feeds,
        session_window=exp.bars.session,
        timeout_s=timeout_s,
        served=served,
    )
