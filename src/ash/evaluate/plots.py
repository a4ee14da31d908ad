"""Evaluation figures (PNG, matplotlib Agg): reliability, PIT, NLL by horizon, fan chart."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ash.evaluate.metrics import Reliability

COLORS = {
    "model": "#1f77b4",
    "model_uncalibrated": "#aec7e8",
    "climatology": "#7f7f7f",
    "ewma_gaussian": "#ff7f0e",
    "ewma_gaussian_lattice": "#d62728",
    "oracle": "#2ca02c",
}


def _grid(n: int) -> tuple[Any, np.ndarray]:
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, axes.flat[:n]


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def reliability_diagrams(
    curves: Sequence[dict[str, Reliability]], horizons: Sequence[float], title: str, path: Path
) -> Path:
    """One panel per horizon: accuracy vs confidence for each curve (top-label)."""
    fig, axes = _grid(len(horizons))
    for ax, h, by_name in zip(axes, horizons, curves, strict=True):
        # zoom on the populated range: with many buckets confidences are small
        top = max(
            float(np.nanmax(np.r_[rel.confidence, rel.accuracy, 0.0])) for rel in by_name.values()
        )
        top = min(1.0, 1.1 * top + 0.02)
        ax.plot([0, top], [0, top], "k:", lw=1)
        for name, rel in by_name.items():
            used = rel.count > 0
            ax.plot(
                rel.confidence[used],
                rel.accuracy[used],
                "o-",
                ms=3,
                color=COLORS.get(name),
                label=f"{name} (ECE {rel.ece:.3f})",
            )
        ax.set_title(f"{h:g} s")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_xlabel("confidence")
        ax.set_ylabel("accuracy")
        ax.legend(fontsize=6, loc="upper left")
    fig.suptitle(title)
    return _save(fig, path)


def pit_histograms(
    counts: Sequence[np.ndarray], horizons: Sequence[float], title: str, path: Path
) -> Path:
    fig, axes = _grid(len(horizons))
    for ax, h, c in zip(axes, horizons, counts, strict=True):
        bins = len(c)
        density = c / max(1, c.sum()) * bins
        ax.bar(np.arange(bins) / bins, density, width=1 / bins, align="edge", color="#1f77b4")
        ax.axhline(1.0, color="k", ls=":", lw=1)
        ax.set_title(f"{h:g} s")
        ax.set_xlim(0, 1)
        ax.set_xlabel("PIT")
    fig.suptitle(title)
    return _save(fig, path)


def nll_by_horizon(
    table: dict[str, list[float]], horizons: Sequence[float], title: str, path: Path
) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(len(horizons))
    for name, values in table.items():
        ax.plot(x, values, "o-", label=name, color=COLORS.get(name))
    ax.set_xticks(x, [f"{h:g}" for h in horizons])
    ax.set_xlabel("horizon (s)")
    ax.set_ylabel("NLL (nats, lower is better)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def quantiles_from_buckets(probs: np.ndarray, edges: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """``[N, len(qs)]`` quantiles (bps) by linear interpolation of the CDF inside buckets; the
    open outer buckets get the width of their inner neighbour (not the sentinel)."""
    e = np.array(edges, dtype=np.float64)
    e[:, 0] = e[:, 1] - (e[:, 2] - e[:, 1])
    e[:, -1] = e[:, -2] + (e[:, -2] - e[:, -3])
    cdf = np.concatenate([np.zeros((len(probs), 1)), np.cumsum(probs, axis=1)], axis=1)
    out = np.empty((len(probs), len(qs)))
    for i in range(len(probs)):
        out[i] = np.interp(qs, cdf[i], e[i])
    return out


def fan_chart(
    times_s: np.ndarray,
    price: np.ndarray,
    panels: Sequence[tuple[float, np.ndarray, np.ndarray]],
    title: str,
    path: Path,
) -> Path:
    """``panels``: (horizon seconds, forecast times [N] (s), price quantiles [N, 5]) with quantiles
    5/25/50/75/95 % placed at the target time; the realized reference price on top."""
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.8 * len(panels)), squeeze=False)
    for ax, (h, t, q) in zip(axes[:, 0], panels, strict=True):
        ax.fill_between(t + h, q[:, 0], q[:, 4], color="#1f77b4", alpha=0.18, label="5–95 %")
        ax.fill_between(t + h, q[:, 1], q[:, 3], color="#1f77b4", alpha=0.35, label="25–75 %")
        ax.plot(t + h, q[:, 2], color="#1f77b4", lw=0.8, label="median")
        ax.plot(times_s, price, color="k", lw=0.9, label="realized")
        ax.set_xlim(float(times_s[0]) - 1, float(t[-1]) + h + 1)
        ax.set_title(f"{h:g} s ahead")
        ax.set_ylabel("price")
        ax.legend(fontsize=7, loc="upper left", ncols=4)
    axes[-1, 0].set_xlabel("seconds from the start of the stretch")
    fig.suptitle(title)
    return _save(fig, path)


def paired_differences(
    panels: dict[str, dict[str, tuple[list[float], list[float]]]],
    horizons: Sequence[float],
    title: str,
    path: Path,
) -> Path:
    """One panel per baseline: model − baseline NLL per horizon with ±2 se bars, one series per
    label (all symbols pooled, then each symbol). Below the zero line the model is better."""
    fig, axes = _grid(len(panels))
    x = np.arange(len(horizons))
    for ax, (baseline, series) in zip(axes, panels.items(), strict=True):
        width = 0.8 / max(1, len(series))
        for i, (label, (deltas, ses)) in enumerate(series.items()):
            offset = (i - (len(series) - 1) / 2) * width
            ax.errorbar(
                x + offset,
                deltas,
                yerr=2 * np.nan_to_num(np.asarray(ses, dtype=float)),
                fmt="o",
                ms=3,
                capsize=2,
                label=label,
            )
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_xticks(x, [f"{h:g}" for h in horizons])
        ax.set_xlabel("horizon (s)")
        ax.set_ylabel("Δ NLL (nats)")
        ax.set_title(f"model − {baseline}", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.suptitle(title)
    return _save(fig, path)
