"""PNG plots for the quality report (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ash.data import quality


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def trades_per_minute(trades: pd.DataFrame, symbol: str, path: Path) -> Path:
    counts = quality.per_minute_counts(trades["ts"])
    fig, ax = plt.subplots(figsize=(9, 3.6))
    for date in counts.columns:
        ax.plot(counts.index / 60.0, counts[date].to_numpy(), lw=0.8, label=str(date))
    for h in (9.5, 16.0):
        ax.axvline(h, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("time of day, New York (hours); dashed: regular session 09:30-16:00")
    ax.set_ylabel("trades per minute")
    ax.set_yscale("symlog", linthresh=10)
    ax.set_ylim(bottom=0)
    ax.set_title(f"{symbol}: trades per minute")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def volume_histogram(trades: pd.DataFrame, symbol: str, path: Path) -> Path:
    size = trades["size"].to_numpy(dtype="float64")
    size = size[size > 0]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if len(size):
        # Bin with numpy and draw steps: ax.hist on a million values is needlessly slow.
        edges = np.logspace(0, np.log10(max(size.max(), 10.0)) + 0.1, 50)
        counts, _ = np.histogram(size, bins=edges)
        ax.stairs(counts, edges, fill=True, color="tab:blue")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axvline(float(np.median(size)), color="k", ls="--", lw=0.8, label="median")
        ax.legend(fontsize=8)
    ax.set_xlabel("trade size (shares, log scale)")
    ax.set_ylabel("trades (log scale)")
    ax.set_title(f"{symbol}: trade size distribution")
    return _save(fig, path)


def spread_distribution(quotes: pd.DataFrame, symbol: str, path: Path) -> Path:
    bid = quotes["bid"].to_numpy(dtype="float64")
    ask = quotes["ask"].to_numpy(dtype="float64")
    mid = (bid + ask) / 2
    ok = (bid > 0) & (ask > 0)
    spread_bps = (ask[ok] - bid[ok]) / mid[ok] * 1e4
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if len(spread_bps):
        hi = float(np.quantile(spread_bps, 0.995))
        lo = float(min(spread_bps.min(), 0.0))
        counts, edges = np.histogram(np.clip(spread_bps, lo, hi), bins=80)
        ax.stairs(counts, edges, fill=True, color="tab:green")
        ax.set_yscale("log")
        crossed = int((spread_bps < 0).sum())
        ax.set_title(f"{symbol}: quoted spread (crossed, bid > ask: {crossed:,})")
    else:
        ax.set_title(f"{symbol}: quoted spread (no quotes)")
    ax.set_xlabel("spread (bps of mid; clipped at the 99.5th percentile)")
    ax.set_ylabel("quotes (log scale)")
    return _save(fig, path)


def gap_timeline(
    trades: pd.DataFrame, gaps: pd.DataFrame, halts: pd.DataFrame, symbol: str, path: Path
) -> Path:
    """Each gap inside the regular session as a stem at its start time, height = its length."""
    fig, ax = plt.subplots(figsize=(9, 3.6))
    if len(gaps):
        for i, (date, g) in enumerate(gaps.groupby("date", sort=True)):
            start = np.array([pd.Timedelta(str(x)).total_seconds() / 3600 for x in g["start"]])
            secs = g["seconds"].to_numpy(dtype="float64")
            ax.vlines(start, 0, secs, color=f"C{i}", lw=1.2, label=str(date))
            ax.scatter(start, secs, color=f"C{i}", s=10)
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    else:
        ax.text(12.75, 0.5, "no gaps above the threshold", ha="center", transform=ax.transData)
        ax.set_ylim(0, 1)
    if len(halts):
        hl = quality.local_times(halts["ts"])
        for t, state in zip(hl, halts["state"], strict=True):
            hours = (t - t.normalize()).total_seconds() / 3600
            ax.axvline(hours, color="k", lw=1)
            ax.annotate(f"halt: {state}", (hours, ax.get_ylim()[1]), fontsize=7, va="top")
    for h in (9.5, 16.0):
        ax.axvline(h, color="grey", ls="--", lw=0.8)
    ax.set_xlim(9.25, 16.25)
    ax.set_xlabel("time of day, New York (hours); dashed: 09:30 open and 16:00 close")
    ax.set_ylabel("gap length (s)")
    ax.set_title(f"{symbol}: silences between trades inside the regular session ({len(gaps)})")
    ax.grid(alpha=0.3)
    return _save(fig, path)
