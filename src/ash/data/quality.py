"""Data-quality measurements on canonical frames (no I/O): what profiling reports.

Every function takes canonical frames of one symbol (sorted by ``ts``) and returns plain numbers
or small frames, so the report, the tests and anyone else compute the same figures.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ash.data.sources.canonical import ts_ns
from ash.data.sources.vendor_files import EXCHANGE_TZ

REGULAR_OPEN = pd.Timedelta(hours=9, minutes=30)
REGULAR_CLOSE = pd.Timedelta(hours=16)
NS = 1_000_000_000


def timestamp_resolution(ts: pd.Series[Any]) -> str:
    """The coarsest unit every timestamp is a whole multiple of (``1 s`` .. ``1 ns``)."""
    v = ts_ns(ts)
    if len(v) == 0:
        return "n/a"
    for unit, label in ((NS, "1 s"), (1_000_000, "1 ms"), (1_000, "1 us")):
        if bool((v % unit == 0).all()):
            return label
        # Bar closes stamped at the last nanosecond of their interval (Lean quote seconds).
        if bool(((v + 1) % unit == 0).all()):
            return f"{label} (stamped at the last ns of each interval)"
    return "1 ns"


def inter_arrival(ts: pd.Series[Any]) -> dict[str, float]:
    """Median / p90 / p99 / max time between consecutive events, seconds (within a day)."""
    v = ts_ns(ts)
    if len(v) < 2:
        return {"median_s": float("nan"), "p90_s": float("nan"), "p99_s": float("nan")}
    d = np.diff(v) / NS
    d = d[d < 6 * 3600]  # overnight jumps are sessions, not arrival times
    if len(d) == 0:
        return {"median_s": float("nan"), "p90_s": float("nan"), "p99_s": float("nan")}
    return {
        "median_s": float(np.median(d)),
        "p90_s": float(np.quantile(d, 0.9)),
        "p99_s": float(np.quantile(d, 0.99)),
        "same_timestamp_fraction": float((d == 0).mean()),
    }


def local_times(ts: pd.Series[Any]) -> pd.Series[Any]:
    return pd.Series(pd.DatetimeIndex(ts).tz_convert(EXCHANGE_TZ))


def sessions(ts: pd.Series[Any]) -> pd.DataFrame:
    """One row per local trading date: first/last event and counts in/out of regular hours."""
    if len(ts) == 0:
        return pd.DataFrame(columns=["date", "first", "last", "events", "regular", "outside"])
    local = local_times(ts)
    date = local.dt.date
    tod = local - local.dt.normalize()
    regular = (tod >= REGULAR_OPEN) & (tod < REGULAR_CLOSE)
    df = pd.DataFrame({"date": date, "t": local, "regular": regular})
    g = df.groupby("date", sort=True)
    out = pd.DataFrame(
        {
            "first": g["t"].min().dt.strftime("%H:%M:%S"),
            "last": g["t"].max().dt.strftime("%H:%M:%S"),
            "events": g.size(),
            "regular": g["regular"].sum(),
        }
    )
    out["outside"] = out["events"] - out["regular"]
    return out.reset_index()


def session_gaps(ts: pd.Series[Any], min_gap_s: float) -> pd.DataFrame:
    """Gaps longer than ``min_gap_s`` between events inside regular hours (09:30-16:00 NY).

    The open and close are boundaries: a quiet first minute after 09:30 counts as a gap from the
    open; the time after the last event up to 16:00 counts as a gap to the close.
    """
    rows: list[dict[str, Any]] = []
    if len(ts) == 0:
        return pd.DataFrame(columns=["date", "start", "end", "seconds"])
    local = local_times(ts)
    for day, t in local.groupby(local.dt.date, sort=True):
        midnight = t.iloc[0].normalize()
        open_, close = midnight + REGULAR_OPEN, midnight + REGULAR_CLOSE
        inside = t[(t >= open_) & (t < close)]
        if inside.empty:
            continue
        points = pd.concat([pd.Series([open_]), inside, pd.Series([close])], ignore_index=True)
        v = ts_ns(points)
        d = np.diff(v) / NS
        for i in np.flatnonzero(d > min_gap_s):
            rows.append(
                {
                    "date": day,
                    "start": points.iloc[i].strftime("%H:%M:%S.%f")[:-3],
                    "end": points.iloc[i + 1].strftime("%H:%M:%S.%f")[:-3],
                    "seconds": float(d[i]),
                }
            )
    return pd.DataFrame(rows, columns=["date", "start", "end", "seconds"])


@dataclass(frozen=True)
class JumpReport:
    sigma_bps: float
    threshold_bps: float
    count: int
    largest: pd.DataFrame  # ts, price, previous, return_bps


def price_jumps(trades: pd.DataFrame, k_sigma: float) -> JumpReport:
    """Trade-to-trade log returns beyond ``k_sigma`` robust sigmas (same local day only)."""
    p = trades["price"].to_numpy(dtype="float64")
    ok = np.isfinite(p) & (p > 0)
    t = trades.loc[ok].reset_index(drop=True)
    p = p[ok]
    empty = pd.DataFrame(columns=["ts", "price", "previous", "return_bps"])
    if len(p) < 3:
        return JumpReport(float("nan"), float("nan"), 0, empty)
    r = np.diff(np.log(p)) * 1e4
    same_day = np.diff(ts_ns(t["ts"])) < 6 * 3600 * NS
    r = np.where(same_day, r, 0.0)
    nz = r[r != 0]
    if len(nz) < 2:
        return JumpReport(0.0, 0.0, 0, empty)
    # Robust scale of non-zero moves around zero: most prints repeat the last price (a MAD of
    # all moves would be 0), and tick-lattice moves make a MAD around the median degenerate.
    sigma = float(1.4826 * np.median(np.abs(nz)))
    thr = k_sigma * sigma
    idx = np.flatnonzero(np.abs(r) > thr)
    top = idx[np.argsort(-np.abs(r[idx]))][:10]
    largest = pd.DataFrame(
        {
            "ts": t["ts"].iloc[top + 1].to_numpy(),
            "price": p[top + 1],
            "previous": p[top],
            "return_bps": r[top],
        }
    )
    return JumpReport(sigma, thr, len(idx), largest)


def quote_checks(quotes: pd.DataFrame) -> dict[str, Any]:
    """Crossed (bid > ask), locked (bid == ask), non-positive quotes and spread statistics."""
    bid = quotes["bid"].to_numpy(dtype="float64")
    ask = quotes["ask"].to_numpy(dtype="float64")
    n = len(bid)
    mid = (bid + ask) / 2
    valid = (bid > 0) & (ask > 0)
    spread = ask - bid
    spread_bps = np.where(valid & (mid > 0), spread / np.where(mid > 0, mid, 1) * 1e4, np.nan)
    sb = spread_bps[np.isfinite(spread_bps) & (spread > 0)]
    return {
        "quotes": n,
        "crossed": int((valid & (bid > ask)).sum()),
        "locked": int((valid & (bid == ask)).sum()),
        "nonpositive": int((~valid).sum()),
        "spread_median_bps": float(np.median(sb)) if len(sb) else float("nan"),
        "spread_p95_bps": float(np.quantile(sb, 0.95)) if len(sb) else float("nan"),
        "spread_median": float(np.median(spread[valid])) if valid.any() else float("nan"),
    }


def volume_stats(trades: pd.DataFrame) -> dict[str, float]:
    s = trades["size"].to_numpy(dtype="float64")
    if len(s) == 0:
        return {"total": 0.0}
    return {
        "total": float(s.sum()),
        "mean": float(s.mean()),
        "median": float(np.median(s)),
        "p99": float(np.quantile(s, 0.99)),
        "max": float(s.max()),
        "zero_size": float((s == 0).sum()),
        "nonpositive_price": float((trades["price"].to_numpy() <= 0).sum()),
    }


def alignment(trades: pd.DataFrame, quotes: pd.DataFrame, within_s: float = 1.0) -> dict[str, Any]:
    """How trades line up with quotes in time.

    ``lag`` is the time from the last quote at or before each trade; ``nearest`` the distance
    to the closest quote either side. Also the fraction of trades priced outside the prevailing
    quote (a symptom of misaligned clocks or stale quotes).
    """
    t = ts_ns(trades["ts"])
    q = ts_ns(quotes["ts"])
    if len(t) == 0 or len(q) == 0:
        return {"trades": len(t), "quotes": len(q)}
    i = np.searchsorted(q, t, side="right") - 1
    has_prev = i >= 0
    lag = np.where(has_prev, (t - q[np.clip(i, 0, None)]) / NS, np.inf)
    j = np.clip(i + 1, 0, len(q) - 1)
    ahead = np.where(i + 1 < len(q), (q[j] - t) / NS, np.inf)
    nearest = np.minimum(lag, ahead)
    bid = quotes["bid"].to_numpy()[np.clip(i, 0, None)]
    ask = quotes["ask"].to_numpy()[np.clip(i, 0, None)]
    price = trades["price"].to_numpy()
    outside = has_prev & ((price < bid - 1e-9) | (price > ask + 1e-9))
    finite = lag[np.isfinite(lag)]
    return {
        "trades": len(t),
        "quotes": len(q),
        "no_prior_quote": int((~has_prev).sum()),
        "lag_p50_s": float(np.quantile(finite, 0.5)) if len(finite) else float("nan"),
        "lag_p90_s": float(np.quantile(finite, 0.9)) if len(finite) else float("nan"),
        "lag_p99_s": float(np.quantile(finite, 0.99)) if len(finite) else float("nan"),
        "within_fraction": float((nearest <= within_s).mean()),
        "prior_within_fraction": float((lag <= within_s).mean()),
        "outside_quote_fraction": float(outside.mean()),
        "within_s": within_s,
    }


def per_minute_counts(ts: pd.Series[Any]) -> pd.DataFrame:
    """Events per local minute of the day, one column per local date (for the activity plot)."""
    local = local_times(ts)
    minute = (local - local.dt.normalize()).dt.total_seconds() // 60
    df = pd.DataFrame({"date": local.dt.date.astype(str), "minute": minute.astype(int)})
    return df.groupby(["minute", "date"]).size().unstack("date", fill_value=0).sort_index()


def import_refusals(imports: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows dropped or repaired at import, summed per table, action and reason, from the
    ``ash_imports`` reports: what the store does *not* hold, and why."""
    totals: Counter[tuple[str, str, str]] = Counter()
    for kind, text in zip(imports.get("kind", []), imports.get("report", []), strict=True):
        report = json.loads(text or "{}")
        for action in ("dropped", "repaired"):
            for reason, rows in report.get(action, {}).items():
                totals[(str(kind), action, str(reason))] += int(rows)
    return [
        {"table": table, "action": action, "reason": reason, "rows": rows}
        for (table, action, reason), rows in sorted(totals.items())
    ]
