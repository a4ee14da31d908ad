"""``ash data profile``: a data dictionary and a quality report (Markdown + PNG) for a store.

Writes ``data_dictionary.md`` (tables, columns, types, meaning, units), ``quality_report.md``
(per symbol: time range, tick counts, granularity, sessions, gaps and halts, volume, suspicious
prints, crossed quotes, trade/quote timestamp alignment), ``profile.json`` (the same figures,
machine-readable) and the plots the report links to. One symbol's events are in memory at a time.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ash.data import profile_plots, quality
from ash.data.sources.store import EVENT_KINDS, DuckDBStore

COLUMN_DOCS: dict[str, dict[str, tuple[str, str]]] = {
    "trades": {
        "ts": ("event time of the print (UTC)", "ns since epoch"),
        "symbol": ("instrument ticker", "-"),
        "price": ("trade price", "currency units (USD)"),
        "size": ("traded quantity", "shares"),
        "side": ("aggressor: +1 buyer-, -1 seller-initiated, 0 unknown", "-"),
        "seq": ("arrival order in the store (breaks timestamp ties)", "-"),
    },
    "quotes": {
        "ts": ("time from which this top of book holds (UTC)", "ns since epoch"),
        "symbol": ("instrument ticker", "-"),
        "bid": ("best bid price", "currency units"),
        "ask": ("best ask price", "currency units"),
        "bid_size": ("quantity at the best bid", "shares (as the vendor gives it)"),
        "ask_size": ("quantity at the best ask", "shares (as the vendor gives it)"),
        "seq": ("arrival order in the store", "-"),
    },
    "options": {
        "ts": ("snapshot time (UTC)", "ns since epoch"),
        "underlying": ("underlying ticker", "-"),
        "expiry": ("expiration (UTC)", "timestamp"),
        "strike": ("strike price", "currency units"),
        "right": ("C call / P put", "-"),
        "bid": ("option bid", "currency units"),
        "ask": ("option ask", "currency units"),
        "iv": ("implied volatility", "annualized fraction (0.2 = 20%)"),
        "delta": ("delta", "per unit of underlying"),
        "gamma": ("gamma", "per unit of underlying squared"),
        "vega": ("vega", "currency per 1.00 of volatility"),
        "theta": ("theta", "currency per year"),
        "volume": ("contracts traded that day", "contracts"),
        "open_interest": ("open interest", "contracts"),
        "seq": ("arrival order in the store", "-"),
    },
    "halts": {
        "ts": ("time of the halt message (UTC)", "ns since epoch"),
        "symbol": ("instrument ticker", "-"),
        "state": ("halt / quoting / resume", "-"),
        "origin": ("file the message came from", "-"),
    },
    "ash_imports": {
        "file_hash": ("SHA-256 of the imported file(s)", "hex"),
        "kind": ("table the file filled", "-"),
        "path": ("file imported", "-"),
        "mode": ("copy (rows in the store) or view (Parquet read in place)", "-"),
        "symbols": ("symbols in the file, comma-separated", "-"),
        "rows": ("rows added", "rows"),
        "ts_min": ("first event time (UTC)", "timestamp"),
        "ts_max": ("last event time (UTC)", "timestamp"),
        "report": ("counted drops/repairs (JSON)", "-"),
        "imported_at": ("when it was imported", "timestamp"),
    },
}


@dataclass
class ProfileResult:
    dictionary: Path
    report: Path
    figures_json: Path
    plots: list[Path] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


def profile_store(
    db: str | Path,
    out: str | Path,
    *,
    gap_seconds: float = 30.0,
    jump_sigma: float = 10.0,
    within_s: float = 1.0,
) -> ProfileResult:
    """Profile every symbol of the store at ``db``; write the report files into ``out``."""
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    with DuckDBStore(db, read_only=True) as store:
        dictionary = out_dir / "data_dictionary.md"
        dictionary.write_text(data_dictionary(store))
        figures: dict[str, Any] = {
            "store": str(db),
            "settings": {
                "gap_seconds": gap_seconds,
                "jump_sigma": jump_sigma,
                "within_s": within_s,
            },
            "symbols": {},
            "import": quality.import_refusals(store.imports()),
        }
        plots: list[Path] = []
        halts_all = store.halts() if store.has("halts") else pd.DataFrame()
        for sym in store.symbols():
            trades = store.read_all("trades", [sym])  # empty frame where there are none
            quotes = store.read_all("quotes", [sym])
            halts = halts_all[halts_all["symbol"] == sym] if len(halts_all) else halts_all
            figs, sym_plots = _profile_symbol(
                sym, trades, quotes, halts, out_dir, gap_seconds, jump_sigma, within_s
            )
            figures["symbols"][sym] = figs
            plots += sym_plots
    report = out_dir / "quality_report.md"
    report.write_text(_report_markdown(figures))
    figures_json = out_dir / "profile.json"
    figures_json.write_text(json.dumps(figures, indent=2, default=str))
    return ProfileResult(dictionary, report, figures_json, plots, figures)


def data_dictionary(store: DuckDBStore) -> str:
    lines = [
        "# Data dictionary",
        "",
        f"Store: `{store.path}` (DuckDB). Canonical event schemas: `ash.data.schema`; "
        "see docs/data.md. Timestamps are UTC with nanosecond resolution.",
        "",
    ]
    for table in (*EVENT_KINDS, "halts", "ash_imports"):
        if not store.has(table):  # type: ignore[arg-type]
            continue
        desc = store.con.execute(f"DESCRIBE {table}").fetchall()
        count = store.con.execute(f"SELECT count(*) FROM {table}").fetchone()
        kind = "view over Parquet read in place" if store.is_view(table) else "table"  # type: ignore[arg-type]
        lines += [
            f"## `{table}` ({kind}, {int(count[0]) if count else 0:,} rows)",
            "",
            "| column | type | meaning | unit |",
            "|---|---|---|---|",
        ]
        docs = COLUMN_DOCS.get(table, {})
        for col, typ, *_ in desc:
            meaning, unit = docs.get(col, ("", ""))
            lines.append(f"| `{col}` | {typ} | {meaning} | {unit} |")
        lines.append("")
    return "\n".join(lines)


def _profile_symbol(
    sym: str,
    trades: pd.DataFrame,
    quotes: pd.DataFrame,
    halts: pd.DataFrame,
    out_dir: Path,
    gap_seconds: float,
    jump_sigma: float,
    within_s: float,
) -> tuple[dict[str, Any], list[Path]]:
    figs: dict[str, Any] = {"trades": {}, "quotes": {}, "alignment": {}}
    plots: list[Path] = []
    safe = "".join(c if c.isalnum() else "_" for c in sym)
    gaps = pd.DataFrame(columns=["date", "start", "end", "seconds"])
    if len(trades):
        t = trades
        gaps = quality.session_gaps(t["ts"], gap_seconds)
        jumps = quality.price_jumps(t, jump_sigma)
        figs["trades"] = {
            "count": len(t),
            "first": str(t["ts"].iloc[0]),
            "last": str(t["ts"].iloc[-1]),
            "resolution": quality.timestamp_resolution(t["ts"]),
            "inter_arrival": quality.inter_arrival(t["ts"]),
            "sessions": quality.sessions(t["ts"]).to_dict("records"),
            "gaps": {
                "count": len(gaps),
                "longest_s": float(gaps["seconds"].max()) if len(gaps) else 0.0,
                "rows": gaps.sort_values("seconds", ascending=False).head(10).to_dict("records"),
            },
            "volume": quality.volume_stats(t),
            "jumps": {
                "sigma_bps": jumps.sigma_bps,
                "threshold_bps": jumps.threshold_bps,
                "count": jumps.count,
                "largest": jumps.largest.to_dict("records"),
            },
            "side": {str(k): int(v) for k, v in t["side"].value_counts().sort_index().items()},
        }
        plots.append(
            profile_plots.trades_per_minute(t, sym, out_dir / f"{safe}_trades_per_minute.png")
        )
        plots.append(profile_plots.volume_histogram(t, sym, out_dir / f"{safe}_volume_hist.png"))
        plots.append(
            profile_plots.gap_timeline(t, gaps, halts, sym, out_dir / f"{safe}_gap_timeline.png")
        )
    if len(quotes):
        q = quotes
        figs["quotes"] = {
            "count": len(q),
            "first": str(q["ts"].iloc[0]),
            "last": str(q["ts"].iloc[-1]),
            "resolution": quality.timestamp_resolution(q["ts"]),
            "inter_arrival": quality.inter_arrival(q["ts"]),
            **quality.quote_checks(q),
        }
        plots.append(profile_plots.spread_distribution(q, sym, out_dir / f"{safe}_spread.png"))
    if len(trades) and len(quotes):
        figs["alignment"] = quality.alignment(trades, quotes, within_s)
    figs["halts"] = (
        [{"ts": str(h.ts), "state": h.state} for h in halts.itertuples()] if len(halts) else []
    )
    figs["plots"] = [p.name for p in plots]
    return figs, plots


def _fmt(x: Any, digits: int = 3) -> str:
    if isinstance(x, float):
        if math.isnan(x):
            return "n/a"
        if x != 0 and abs(x) < 10 ** (-digits):
            return f"{x:.2e}"
        return f"{x:,.{digits}f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(_fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return out


def _report_markdown(figures: dict[str, Any]) -> str:
    s = figures["settings"]
    lines = [
        "# Data quality report",
        "",
        f"Store: `{figures['store']}`. Gaps: silences longer than {s['gap_seconds']:g} s "
        "between trades inside the regular session (09:30-16:00 New York, open and close "
        f"count as boundaries). Suspicious prints: trade-to-trade moves beyond "
        f"{s['jump_sigma']:g} robust sigmas (1.4826 x median absolute non-zero move), "
        "zero/negative prices, crossed quotes (bid > ask).",
        "",
        "## Summary",
        "",
        "| symbol | trades | quotes | first event | last event | gaps | halts | jumps |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for sym, f in figures["symbols"].items():
        t, q = f["trades"], f["quotes"]
        first = min(x for x in (t.get("first"), q.get("first")) if x) if (t or q) else ""
        last = max(x for x in (t.get("last"), q.get("last")) if x) if (t or q) else ""
        lines.append(
            f"| {sym} | {_fmt(t.get('count', 0))} | {_fmt(q.get('count', 0))} | {first} | "
            f"{last} | {_fmt(t.get('gaps', {}).get('count', 0))} | {len(f['halts'])} | "
            f"{_fmt(t.get('jumps', {}).get('count', 0))} |"
        )
    lines += ["", "## Rows dropped or repaired at import", ""]
    if figures.get("import"):
        lines += _table(figures["import"], ["table", "action", "reason", "rows"])
    else:
        lines.append("None: every row read was stored as it was.")
    for sym, f in figures["symbols"].items():
        lines += ["", f"## {sym}", ""]
        lines += _trades_section(f["trades"])
        lines += _quotes_section(f["quotes"])
        lines += _alignment_section(f["alignment"])
        lines += ["", "### Halts", ""]
        if f["halts"]:
            lines += _table(f["halts"], ["ts", "state"])
        else:
            lines.append("No halt messages in the data (only LOBSTER files carry them).")
        lines += ["", "### Plots", ""]
        lines += [f"![{p}]({p})" for p in f["plots"]]
    return "\n".join(lines) + "\n"


def _trades_section(t: dict[str, Any]) -> list[str]:
    if not t:
        return ["### Trades", "", "No trades."]
    ia, vol, jumps, gaps = t["inter_arrival"], t["volume"], t["jumps"], t["gaps"]
    lines = [
        "### Trades",
        "",
        f"- Time range: {t['first']} .. {t['last']} (UTC)",
        f"- Tick count: {t['count']:,}",
        f"- Timestamp resolution: {t['resolution']}; inter-arrival median "
        f"{_fmt(ia['median_s'], 4)} s, p90 {_fmt(ia['p90_s'], 4)} s, p99 {_fmt(ia['p99_s'], 3)} s; "
        f"{_fmt(100 * ia.get('same_timestamp_fraction', float('nan')), 1)} % of trades share "
        "their timestamp with the previous one",
        f"- Side: {', '.join(f'{k}: {v:,}' for k, v in t['side'].items())} "
        "(+1 buy, -1 sell, 0 unknown: inferred by the bar builder)",
        f"- Volume: total {_fmt(vol['total'], 0)} shares; size mean {_fmt(vol['mean'], 1)}, "
        f"median {_fmt(vol['median'], 0)}, p99 {_fmt(vol['p99'], 0)}, max {_fmt(vol['max'], 0)}; "
        f"zero-size prints {_fmt(int(vol['zero_size']))}",
        f"- Suspicious prints: {_fmt(int(vol['nonpositive_price']))} zero/negative prices; "
        f"{jumps['count']:,} moves beyond {_fmt(jumps['threshold_bps'], 2)} bps "
        f"(sigma {_fmt(jumps['sigma_bps'], 3)} bps)",
        f"- Gaps > threshold inside regular hours: {gaps['count']:,} "
        f"(longest {_fmt(gaps['longest_s'], 1)} s)",
        "",
        "Sessions (New York dates; regular = 09:30-16:00):",
        "",
    ]
    lines += _table(t["sessions"], ["date", "first", "last", "events", "regular", "outside"])
    if jumps["largest"]:
        lines += ["", "Largest moves:", ""]
        lines += _table(jumps["largest"], ["ts", "previous", "price", "return_bps"])
    if gaps["rows"]:
        lines += ["", "Longest gaps:", ""]
        lines += _table(gaps["rows"], ["date", "start", "end", "seconds"])
    return lines


def _quotes_section(q: dict[str, Any]) -> list[str]:
    if not q:
        return ["", "### Quotes", "", "No quotes: mid-price targets fall back to trade prices."]
    ia = q["inter_arrival"]
    return [
        "",
        "### Quotes",
        "",
        f"- Time range: {q['first']} .. {q['last']} (UTC)",
        f"- Quote count: {q['count']:,}; timestamp resolution {q['resolution']}; inter-arrival "
        f"median {_fmt(ia['median_s'], 4)} s",
        f"- Crossed (bid > ask): {q['crossed']:,}; locked (bid = ask): {q['locked']:,}; "
        f"zero/negative: {q['nonpositive']:,}",
        f"- Spread: median {_fmt(q['spread_median'], 4)} ({_fmt(q['spread_median_bps'], 3)} bps), "
        f"p95 {_fmt(q['spread_p95_bps'], 3)} bps",
    ]


def _alignment_section(a: dict[str, Any]) -> list[str]:
    if not a:
        return []
    return [
        "",
        "### Trade/quote timestamp alignment",
        "",
        f"- Lag from the last quote at or before each trade: p50 {_fmt(a['lag_p50_s'], 4)} s, "
        f"p90 {_fmt(a['lag_p90_s'], 4)} s, p99 {_fmt(a['lag_p99_s'], 3)} s; "
        f"{a['no_prior_quote']:,} trades before the first quote",
        f"- Trades with a quote within {a['within_s']:g} s (either side): "
        f"{_fmt(100 * a['within_fraction'], 2)} %; with a prior quote within {a['within_s']:g} s: "
        f"{_fmt(100 * a['prior_within_fraction'], 2)} %",
        f"- Trades priced outside the prevailing quote: "
        f"{_fmt(100 * a['outside_quote_fraction'], 2)} %",
    ]
