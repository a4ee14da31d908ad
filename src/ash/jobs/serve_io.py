"""Driving ``ash-serve --stdin`` from Python: ticks as protocol lines, answers parsed compactly.

:mod:`ash.jobs.replay` builds on this (``ash replay``, the main job's replay); tests use it to
talk to the real binary.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import pandas as pd

from ash.bars.events import QUOTE, TRADE, merge_feeds
from ash.runtime import ServeError

Feeds = Mapping[str, tuple[pd.DataFrame | None, pd.DataFrame | None]]
"""symbol -> (trades, quotes): canonical frames (:mod:`ash.data.schema`) of that symbol."""


def _ns(ts: pd.Series) -> np.ndarray:
    return ts.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def tick_lines(trades: pd.DataFrame | None, quotes: pd.DataFrame | None, symbol: str) -> list[str]:
    """Canonical trades/quotes as protocol lines, in the bar builder's own arrival order."""
    return [line for _, line in _timed_lines(trades, quotes, symbol)]


def _timed_lines(
    trades: pd.DataFrame | None, quotes: pd.DataFrame | None, symbol: str
) -> list[tuple[int, str]]:
    has_trades = trades is not None and not trades.empty
    has_quotes = quotes is not None and not quotes.empty
    stream = merge_feeds(
        (
            _ns(trades["ts"]),
            trades["price"].to_numpy(np.float64),
            trades["size"].to_numpy(np.float64),
            trades["side"].to_numpy(np.float64),
        )
        if has_trades and trades is not None
        else None,
        (
            _ns(quotes["ts"]),
            quotes["bid"].to_numpy(np.float64),
            quotes["ask"].to_numpy(np.float64),
            quotes["bid_size"].to_numpy(np.float64),
            quotes["ask_size"].to_numpy(np.float64),
        )
        if has_quotes and quotes is not None
        else None,
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
            raise ValueError(f"unexpected event kind {kind} in a trades/quotes stream")
        lines.append((int(ts), json.dumps({**fields, "symbol": symbol, "ts": int(ts)})))
    return lines


def feed_lines(feeds: Feeds) -> Iterator[str]:
    """Every symbol's lines interleaved by timestamp; each symbol keeps its own arrival order."""
    per_symbol = [_timed_lines(t, q, s) for s, (t, q) in feeds.items()]
    for _, line in heapq.merge(*per_symbol, key=lambda item: item[0]):
        yield line


SUMMARY_KEYS = ("mean_bps", "p_up", "p_flat", "p_down")


@dataclass(frozen=True)
class ServedPrediction:
    """One prediction line, kept compact (a day of 1 s bars is ~23k of them)."""

    symbol: str
    bar_ts: int
    protocol: int  # 0: a line without the version field
    summaries: np.ndarray  # [H, 4] mean_bps, p_up, p_flat, p_down
    probs: np.ndarray | None  # [H, K] float32; None with --summary-only
    edges: np.ndarray | None  # [H, K + 1]

    @classmethod
    def parse(cls, message: dict[str, Any]) -> ServedPrediction:
        horizons = message["horizons"]
        full = "probs" in horizons[0]
        return cls(
            symbol=str(message["symbol"]),
            bar_ts=int(message["bar_ts"]),
            protocol=int(message.get("protocol", 0)),
            summaries=np.array([[h[k] for k in SUMMARY_KEYS] for h in horizons], dtype=np.float64),
            probs=np.array([h["probs"] for h in horizons], dtype=np.float32) if full else None,
            edges=np.array([h["edges"] for h in horizons], dtype=np.float32) if full else None,
        )


@dataclass
class _Served:
    """What ash-serve answered, parsed as it streamed."""

    bars: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    predictions: list[ServedPrediction] = field(default_factory=list)
    stats: dict[str, Any] | None = None
    lines: int = 0


def _write_lines(stream: IO[str], lines: Iterator[str], count: list[int]) -> None:
    # A broken pipe means ash-serve died: its exit status and stderr say why.
    with contextlib.suppress(BrokenPipeError):
        for line in lines:
            stream.write(line + "\n")
            count[0] += 1
        stream.write('{"type":"stats"}\n')
    with contextlib.suppress(BrokenPipeError):
        stream.close()


def serve_stdin(argv: list[str], env: dict[str, str], lines: Iterator[str]) -> _Served:
    """Feed ``lines`` to ``ash-serve --stdin`` and parse its answers while it runs."""
    served = _Served()
    count = [0]
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True, env=env
        )
        assert proc.stdin is not None and proc.stdout is not None
        writer = threading.Thread(target=_write_lines, args=(proc.stdin, lines, count))
        writer.start()
        for raw in proc.stdout:
            if not raw.strip():
                continue
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "bar":
                served.bars.setdefault(message["symbol"], {})[int(message["ts"])] = message[
                    "values"
                ]
            elif kind == "prediction":
                served.predictions.append(ServedPrediction.parse(message))
            elif kind == "stats":
                served.stats = message
        writer.join()
        code = proc.wait()
        if code != 0:
            errors.seek(0)
            raise ServeError(f"ash-serve exited with {code}: {errors.read()[-2000:]}")
    served.lines = count[0]
    if served.stats is None:
        raise ServeError("ash-serve answered no stats line")
    return served
