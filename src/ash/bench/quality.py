"""Forecast quality against the baselines: train and evaluate experiments, print one table each.

    python -m ash.bench.quality [configs/default.yaml configs/spy.yaml] [--run RUN_DIR ...]

Per horizon on the test span: NLL of the model, climatology, the EWMA Gaussian on the tick
lattice and (synthetic data) the oracle, the share of the climatology->oracle gap the model
closes, RPS of model and climatology, and ECE after temperature scaling.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ash.evaluate.report import significance, verdict
from ash.paths import repo_root

REPO = repo_root()
BASELINE = "ewma_gaussian_lattice"


def _get(split: dict[str, Any], forecaster: str, h: float, metric: str) -> float:
    try:
        return float(split["forecasters"][forecaster][f"h{h:g}"][metric])
    except KeyError:
        return math.nan


def summarize(run_dir: Path) -> str:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    evaluation = metrics["evaluation"]
    test = evaluation["test"]
    oracle = bool(evaluation.get("oracle"))
    lines = [
        f"`{run_dir.name}` — test span, {test.get('n_samples', '?')} samples",
        "",
        "| horizon | NLL model | NLL climatology | NLL EWMA Gaussian | model − EWMA (± 2 se) | "
        + ("NLL oracle | gap closed | " if oracle else "")
        + "RPS model | RPS climatology | ECE model | vs both baselines (±2 se) |",
        "|---|---:|---:|---:|---:|" + ("---:|---:|" if oracle else "") + "---:|---:|---:|:---:|",
    ]
    wins = 0
    for h in evaluation["horizons_s"]:
        model = _get(test, "model", h, "nll")
        clim = _get(test, "climatology", h, "nll")
        ewma = _get(test, BASELINE, h, "nll")
        extra = test.get("model_extra", {}).get(f"h{h:g}", {})
        delta = float(extra.get(f"nll_minus_{BASELINE}", math.nan))
        se = float(extra.get(f"nll_minus_{BASELINE}_se", math.nan))
        # Better than both only beyond each paired difference's ±2 se (a raw win is a tie).
        calls = {
            significance(
                float(extra.get(f"nll_minus_{b}", math.nan)),
                float(extra.get(f"nll_minus_{b}_se", math.nan)),
            )
            for b in ("climatology", BASELINE)
        }
        beats = calls == {"better"}
        wins += beats
        paired = f"{delta:+.4f} ± {2 * se:.4f}"
        row = [f"{h:g} s", f"{model:.4f}", f"{clim:.4f}", f"{ewma:.4f}", paired]
        if oracle:
            gap = test.get("gap_closed", {}).get(f"h{h:g}", math.nan)
            row += [f"{_get(test, 'oracle', h, 'nll'):.4f}", f"{float(gap):.2f}"]
        row += [
            f"{_get(test, 'model', h, 'rps'):.3f}",
            f"{_get(test, 'climatology', h, 'rps'):.3f}",
            f"{_get(test, 'model', h, 'ece'):.4f}",
            "better" if beats else ("worse" if "worse" in calls else "tie"),
        ]
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        f"The model is better than both baselines beyond ±2 se at {wins}/"
        f"{len(evaluation['horizons_s'])} horizons.",
        verdict(test, evaluation["horizons_s"]),
        "model − EWMA is the paired NLL difference on the same samples (negative: the model is "
        "better); ± 2 se is its batch-means error bar (20 contiguous blocks), so a difference "
        "inside it is not distinguishable from zero on this test span.",
    ]
    return "\n".join(lines)


def train(config: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = REPO / "experiments" / "runs" / f"bench_{config.stem}_{stamp}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ash.cli.main",
            "train",
            str(config),
            "--run-dir",
            str(run_dir),
            "--no-progress",
        ],
        cwd=REPO,
        check=True,
        stdout=sys.stderr,  # keep stdout for the tables
    )
    return run_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("configs", nargs="*", type=Path)
    parser.add_argument("--run", type=Path, action="append", default=[], help="evaluated runs")
    args = parser.parse_args(argv)
    runs = list(args.run)
    configs = args.configs or (
        [] if runs else [REPO / "configs/default.yaml", REPO / "configs/spy.yaml"]
    )
    runs += [train(c) for c in configs]
    print("\n\n".join(summarize(r) for r in runs))


if __name__ == "__main__":
    main()
