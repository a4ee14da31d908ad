"""Per-symbol scores of a pooled (or single-symbol) run: the same forecasts, split by symbol.

A pooled model's average over symbols can hide a symbol it serves badly; each symbol gets its
own NLL per forecaster, the paired model-minus-baseline differences with their batch-means
standard error, and the model's ECE before and after calibration.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ash.evaluate import metrics as m
from ash.evaluate.predict import SplitForecasts
from ash.pipeline import PreparedData

ORACLE = "oracle"
UNCALIBRATED = "model_uncalibrated"


def score_by_symbol(
    fc: SplitForecasts, prepared: PreparedData, *, bins: int
) -> dict[str, dict[str, Any]]:
    """``{symbol: {h<s>: {"n", "nll": {forecaster: v}, "minus": {baseline: [d, se]},
    "ece": v, "ece_uncalibrated": v}}}`` on the mask every (non-oracle) forecaster shares."""
    data = prepared.bars
    symbol_of = data.symbol_index[fc.ends]
    names = [n for n in fc.probs if n != ORACLE]
    baselines = [n for n in names if n not in ("model", UNCALIBRATED)]
    out: dict[str, dict[str, Any]] = {}
    for s, symbol in enumerate(data.symbols):
        rows = symbol_of == s
        if not rows.any():
            continue
        per_h: dict[str, Any] = {}
        for h, seconds in enumerate(prepared.horizons_s):
            mask = rows & (fc.ids[:, h] >= 0)
            for name in names:
                mask &= np.isfinite(fc.probs[name][:, h]).all(axis=1)
            if not mask.any():
                continue
            y = fc.ids[mask, h]
            per_sample = {n: m.nll_per_sample(fc.probs[n][mask, h], y) for n in names}
            per_h[f"h{seconds:g}"] = {
                "n": int(mask.sum()),
                "nll": {n: float(v.mean()) for n, v in per_sample.items()},
                "minus": {
                    b: list(m.paired_difference(per_sample["model"], per_sample[b]))
                    for b in baselines
                },
                "ece": m.ece(fc.probs["model"][mask, h], y, bins),
                **(
                    {"ece_uncalibrated": m.ece(fc.probs[UNCALIBRATED][mask, h], y, bins)}
                    if UNCALIBRATED in fc.probs
                    else {}
                ),
            }
        out[symbol] = per_h
    return out


def better_baseline(nll: dict[str, float]) -> str:
    """The baseline (not the model, not the oracle) with the lowest NLL."""
    candidates = {n: v for n, v in nll.items() if n not in ("model", UNCALIBRATED, ORACLE)}
    return min(candidates, key=lambda n: candidates[n])


def difference_panels(
    split: dict[str, Any], horizons: tuple[float, ...]
) -> dict[str, dict[str, tuple[list[float], list[float]]]]:
    """Per baseline: (differences, standard errors) per horizon, pooled and per symbol."""
    keys = [f"h{s:g}" for s in horizons]
    extra = split["model_extra"]
    names = [n[len("nll_minus_") :] for n in extra[keys[0]] if n.startswith("nll_minus_")]
    names = [n for n in names if not n.endswith("_se")]
    by_symbol = split.get("by_symbol", {})
    panels = {}
    for b in names:
        series = {
            "all": (
                [extra[k][f"nll_minus_{b}"] for k in keys],
                [extra[k][f"nll_minus_{b}_se"] for k in keys],
            )
        }
        if len(by_symbol) > 1:
            for symbol, by_h in by_symbol.items():
                cells = [by_h.get(k, {}).get("minus", {}).get(b, [np.nan, np.nan]) for k in keys]
                series[symbol] = ([c[0] for c in cells], [c[1] for c in cells])
        panels[b] = series
    return panels
