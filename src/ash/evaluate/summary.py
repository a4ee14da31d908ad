"""The evaluation at a glance: one terminal table of the test span per horizon, read from the
``evaluation`` block of ``metrics.json`` (report.md holds everything else)."""

from __future__ import annotations

import math
from typing import Any

from rich.table import Table

from ash.evaluate.report import significance

BASELINES = ("climatology", "ewma_gaussian_lattice")
LABELS = {"ewma_gaussian_lattice": "EWMA Gaussian"}


def _get(block: dict[str, Any], *keys: str) -> float:
    value: Any = block
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return math.nan
        value = value[key]
    return float(value) if value is not None else math.nan


def summary_table(metrics: dict[str, Any], split: str = "test") -> Table:
    """Model against the baselines (and the oracle when there is one) per horizon: NLL (nats,
    lower is better) with the paired difference's standard error, ECE, directional accuracy."""
    evaluation = metrics["evaluation"]
    block = evaluation[split]
    forecasters = ["model", *BASELINES] + (["oracle"] if evaluation.get("oracle") else [])
    table = Table(
        title=f"{split} span, {block.get('n_samples', '?')} samples: NLL per horizon "
        "(nats, lower is better)",
        title_justify="left",
    )
    table.add_column("horizon", justify="right")
    for name in forecasters:
        table.add_column(LABELS.get(name, name), justify="right")
    table.add_column("model - best baseline (±2 se)", justify="right")
    table.add_column("ECE", justify="right")
    table.add_column("direction", justify="right")
    for seconds in evaluation["horizons_s"]:
        key = f"h{seconds:g}"
        nll = [_get(block, "forecasters", name, key, "nll") for name in forecasters]
        extra = block.get("model_extra", {}).get(key, {})
        best = min(BASELINES, key=lambda b: _get(block, "forecasters", b, key, "nll"))
        delta = _get(extra, f"nll_minus_{best}")
        se = _get(extra, f"nll_minus_{best}_se")
        # Colour only beyond the error bar: a raw win inside ±2 se is a tie, not a win.
        colour = {"better": "green", "worse": "red", "tie": "yellow"}[significance(delta, se)]
        table.add_row(
            f"{seconds:g} s",
            *(f"{v:.4f}" for v in nll),
            f"[{colour}]{delta:+.4f} ± {2 * se:.4f}[/]",
            f"{_get(block, 'forecasters', 'model', key, 'ece'):.4f}",
            f"{_get(extra, 'directional_accuracy'):.3f}",
        )
    return table
