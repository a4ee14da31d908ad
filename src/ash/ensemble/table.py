"""Per-horizon NLL of every forecaster on one split, with ±2 se against the EWMA Gaussian."""

from __future__ import annotations

from typing import Any

import numpy as np

from ash.evaluate import metrics as m
from ash.evaluate.predict import SplitForecasts

REFERENCE = "ewma_gaussian_lattice"
ORACLE = "oracle"


def nll_table(
    fc: SplitForecasts, horizons_s: tuple[float, ...] | list[float]
) -> list[dict[str, Any]]:
    """Rows ``{forecaster, horizon, nll, delta_vs_ewma, se2, n}``: NLL on the samples every
    forecaster scores (the oracle on its own subset, compared with the EWMA there), the paired
    difference to the lattice EWMA Gaussian and twice its batch-means standard error."""
    rows = []
    for h, seconds in enumerate(horizons_s):
        mask = fc.ids[:, h] >= 0
        for name, probs in fc.probs.items():
            if name != ORACLE:
                mask &= np.isfinite(probs[:, h]).all(axis=1)
        for name, probs in fc.probs.items():
            rows_h = mask & np.isfinite(probs[:, h]).all(axis=1)
            if not rows_h.any():
                continue
            y = fc.ids[rows_h, h]
            nll = m.nll_per_sample(probs[rows_h, h], y)
            ref = m.nll_per_sample(fc.probs[REFERENCE][rows_h, h], y)
            delta, se = m.paired_difference(nll, ref)
            rows.append(
                {
                    "forecaster": name,
                    "horizon_s": float(seconds),
                    "nll": float(nll.mean()),
                    "delta_vs_ewma": delta,
                    "se2": 2 * se,
                    "n": int(rows_h.sum()),
                }
            )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one row per forecaster, one column per horizon, ``NLL (Δ ±2se)``."""
    horizons = sorted({r["horizon_s"] for r in rows})
    names = list(dict.fromkeys(r["forecaster"] for r in rows))
    cells = {(r["forecaster"], r["horizon_s"]): r for r in rows}
    lines = [
        "| forecaster | " + " | ".join(f"{h:g} s" for h in horizons) + " |",
        "| --- |" + " --- |" * len(horizons),
    ]
    for name in names:
        parts = []
        for h in horizons:
            r = cells.get((name, h))
            parts.append(
                "" if r is None else f"{r['nll']:.4f} ({r['delta_vs_ewma']:+.4f} ±{r['se2']:.4f})"
            )
        lines.append(f"| {name} | " + " | ".join(parts) + " |")
    return "\n".join(lines)
