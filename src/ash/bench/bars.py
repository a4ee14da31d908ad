"""Bar-building throughput on the SPY sample vs a naive pandas resample, in the same run.

``python -m ash.bench.bars [--repeats N]`` prints, per day, the median time of N runs and
ticks/s of: ash trades-only bars, ash trades+quotes bars, and the pandas reference (resample
ohlc + sum + count, plus last-quote forward fill for the trades+quotes row), and the ratio.
Times are CPU seconds of the process (one core; numpy only, no Python loop per tick), and the
two sides alternate case by case so both see the same machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd

from ash.bars.builder import build_bars_from_stream
from ash.bars.events import EventStream, merge_feeds
from ash.bars.spec import BarSpec
from ash.testing import lean_sample as lean


def _median_cpu_seconds(run: Callable[[], object], repeats: int) -> float:
    """Median CPU time of this process per run: on a shared, oversubscribed machine, wall time
    measures the neighbours; CPU time measures one core's work (numpy and pandas here are
    single-threaded)."""
    run()  # warm-up (imports, page faults)
    times = []
    for _ in range(repeats):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return statistics.median(times)


def _pandas_trades(ts: np.ndarray, price: np.ndarray, size: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"price": price, "size": size}, index=pd.to_datetime(ts, utc=True))
    resampled = frame.resample("1s")
    out = resampled["price"].ohlc()
    out["volume"] = resampled["size"].sum()
    out["trade_count"] = resampled["size"].count()
    return out


def _pandas_trades_quotes(
    ts: np.ndarray, price: np.ndarray, size: np.ndarray, quotes: pd.DataFrame
) -> pd.DataFrame:
    bars = _pandas_trades(ts, price, size)
    q = quotes.set_index(pd.to_datetime(quotes["ts_ns"].to_numpy(), utc=True))
    last = q[["bid", "ask", "bid_size", "ask_size"]].resample("1s").last()
    return bars.join(last, how="outer").ffill()


def _ash_trades(ts: np.ndarray, price: np.ndarray, size: np.ndarray, spec: BarSpec) -> object:
    return build_bars_from_stream(EventStream.trades_only(ts, price, size), spec)


def _ash_trades_quotes(
    trades: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    quotes: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    spec: BarSpec,
) -> object:
    return build_bars_from_stream(merge_feeds(trades, quotes, None), spec)


def _cases(day: str) -> list[tuple[str, int, Callable[[], object], Callable[[], object]]]:
    spec = BarSpec()
    ts, price, size = lean.trade_arrays(day)
    quotes = lean.quote_events(day)
    bid, ask, bid_size, ask_size = (
        quotes[c].to_numpy(np.float64) for c in ("bid", "ask", "bid_size", "ask_size")
    )
    q = (quotes["ts_ns"].to_numpy(np.int64), bid, ask, bid_size, ask_size)
    trades = (ts, price, size, np.zeros(len(ts)))
    return [
        (
            "trades only",
            len(ts),
            partial(_ash_trades, ts, price, size, spec),
            partial(_pandas_trades, ts, price, size),
        ),
        (
            "trades+quotes",
            len(ts) + len(quotes),
            partial(_ash_trades_quotes, trades, q, spec),
            partial(_pandas_trades_quotes, ts, price, size, quotes),
        ),
    ]


def run(repeats: int = 5, days: tuple[str, ...] = lean.SPY_DAYS) -> list[dict[str, object]]:
    """One row per day and bar kind with median CPU times and ticks/s of both sides."""
    rows: list[dict[str, object]] = []
    for day in days:
        for label, n, ours, reference in _cases(day):
            t_ours = _median_cpu_seconds(ours, repeats)
            t_ref = _median_cpu_seconds(reference, repeats)
            rows.append(
                {
                    "day": day,
                    "bars": label,
                    "ticks": n,
                    "ash_ms": 1e3 * t_ours,
                    "ash_mticks_s": n / t_ours / 1e6,
                    "pandas_ms": 1e3 * t_ref,
                    "pandas_mticks_s": n / t_ref / 1e6,
                    "speedup": t_ref / t_ours,
                }
            )
    return rows


def format_table(rows: list[dict[str, object]]) -> str:
    head = (
        "| day | bars | ticks | ash CPU ms | ash Mticks/s | pandas CPU ms | pandas Mticks/s "
        "| speed-up |"
    )
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['day']} | {r['bars']} | {r['ticks']:,} | {r['ash_ms']:.1f} | "
            f"{r['ash_mticks_s']:.2f} | {r['pandas_ms']:.1f} | {r['pandas_mticks_s']:.2f} | "
            f"{r['speedup']:.1f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (median)")
    args = parser.parse_args(argv)
    print(format_table(run(repeats=args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
