"""Walk-forward (rolling-origin) evaluation: one model per fold, a table across folds.

``split.walk_forward_folds: N`` trains N models; fold k tests on the k-th of N consecutive test
blocks with an expanding training set (see :func:`ash.pipeline.make_splits`). Each fold is a
complete run folder under ``<run>/folds/fold_<k>``; the parent gets ``walk_forward.json`` and
``walk_forward.md`` with the mean ± standard deviation over folds of each test metric.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ash import runs
from ash.config.resolve import ResolvedExperiment
from ash.evaluate.run import evaluate_run
from ash.train.trainer import train_fold

FOLDS = "folds"
WF_JSON = "walk_forward.json"
WF_MD = "walk_forward.md"
TABLE_METRICS: tuple[tuple[str, str], ...] = (
    ("model", "nll"),
    ("climatology", "nll"),
    ("ewma_gaussian", "nll"),
    ("ewma_gaussian_lattice", "nll"),
    ("oracle", "nll"),
    ("model", "rps"),
    ("model", "ece"),
)


def fold_dirs(run_dir: Path) -> list[Path]:
    return sorted((Path(run_dir) / FOLDS).glob("fold_*"), key=lambda p: int(p.name.split("_")[1]))


def is_walk_forward(run_dir: Path) -> bool:
    return bool(fold_dirs(run_dir))


def run_walk_forward(
    resolved: ResolvedExperiment,
    *,
    run_dir: Path | None = None,
    progress: bool = True,
    train: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """Train and evaluate every fold, then aggregate. Returns the aggregate table."""
    train = train or train_fold
    n_folds = resolved.experiment.split.walk_forward_folds
    if n_folds < 1:
        raise ValueError("split.walk_forward_folds must be >= 1 for a walk-forward run")
    parent = run_dir or runs.new_run_dir(resolved.experiment.name)
    parent.mkdir(parents=True, exist_ok=True)
    runs.write_config(parent, resolved)
    for k in range(n_folds):
        fold_dir = parent / FOLDS / f"fold_{k}"
        train(resolved, run_dir=fold_dir, progress=progress, fold=k)
        evaluate_run(fold_dir)
    return aggregate(parent)


def aggregate(run_dir: Path) -> dict[str, Any]:
    """Mean ± std over folds of each test metric per horizon; writes JSON and Markdown."""
    folds = [runs.read_json(d / runs.METRICS_FILE)["evaluation"] for d in fold_dirs(run_dir)]
    if not folds:
        raise runs.RunError(f"{run_dir} has no evaluated folds under {FOLDS}/")
    horizons = folds[0]["horizons_s"]
    table: dict[str, Any] = {"n_folds": len(folds), "horizons_s": horizons, "metrics": {}}
    for forecaster, metric in TABLE_METRICS:
        if forecaster not in folds[0]["test"]["forecasters"]:
            continue
        per_h = {}
        for h in horizons:
            key = f"h{h:g}"
            values = np.array([f["test"]["forecasters"][forecaster][key][metric] for f in folds])
            per_h[key] = {
                "mean": float(values.mean()),
                "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                "folds": values.tolist(),
            }
        table["metrics"][f"{forecaster}.{metric}"] = per_h
    runs.write_json(run_dir / WF_JSON, table)
    write_markdown(run_dir, table)
    return table


def write_markdown(run_dir: Path, table: dict[str, Any]) -> Path:
    names = list(table["metrics"])
    lines = [
        f"# Walk-forward evaluation: {table['n_folds']} folds (test, mean ± std over folds)",
        "",
        "| horizon | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for h in table["horizons_s"]:
        key = f"h{h:g}"
        cells = [
            f"{table['metrics'][n][key]['mean']:.4f} ± {table['metrics'][n][key]['std']:.4f}"
            for n in names
        ]
        lines.append(f"| {h:g} s | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Per-fold reports: "
        + ", ".join(f"`{FOLDS}/{d.name}/report.md`" for d in fold_dirs(run_dir)),
    ]
    path = run_dir / WF_MD
    path.write_text("\n".join(lines) + "\n")
    return path
