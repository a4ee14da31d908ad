"""Paired test NLL of two runs of the same experiment, per horizon, with batch-means errors.

    python scripts/compare_runs.py RUN_A RUN_B
    python scripts/compare_runs.py RUN        # one model: cached features (A) vs per window (B)

Both runs are scored on the same test samples (the evaluation's strided subsample) through the
path each was trained with (``train.feature_cache``); prints each run's NLL per horizon and the
paired difference A − B ± 2 se (``ash.evaluate.metrics.paired_difference``: 20 time-ordered
blocks). Used to show that the feature cache leaves results unchanged (docs/training.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ash import runs
from ash.evaluate import metrics
from ash.evaluate.predict import model_forecasts, subsample
from ash.pipeline import prepare_data


def per_sample_nll(
    run: Path, feature_cache: bool | None = None
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    model, resolved = runs.load_model(run)
    exp = resolved.experiment
    meta = runs.read_json(run / runs.META_FILE)
    prepared = prepare_data(resolved, model.window, runs.experiments_root(), fold=meta.get("fold"))
    ends = subsample(prepared.samples.test, exp.evaluate.max_samples)
    cache = exp.train.feature_cache if feature_cache is None else feature_cache
    probs, _, _, ids = model_forecasts(model, prepared, ends, feature_cache=cache)
    safe = np.clip(ids, 0, None)
    picked = np.take_along_axis(probs, safe[..., None], axis=-1)[..., 0]
    nll = -np.log(np.clip(picked, 1e-300, None))
    return nll, ids >= 0, [float(h) for h in exp.horizons]


def main(argv: list[str]) -> None:
    a, b = Path(argv[0]), Path(argv[-1])
    one = len(argv) == 1
    nll_a, ok_a, horizons = per_sample_nll(a, True if one else None)
    nll_b, ok_b, _ = per_sample_nll(b, False if one else None)
    if nll_a.shape != nll_b.shape or not np.array_equal(ok_a, ok_b):
        raise SystemExit("the runs were not scored on the same test samples (same experiment?)")
    if one:
        print(f"A = B = {a}; A scored with cached features, B per window\n")
    else:
        print(f"A = {a}\nB = {b}\n")
    print("| horizon (s) | n | A test NLL | B test NLL | A − B ± 2 se (paired) | within? |")
    print("|---:|---:|---:|---:|---:|---|")
    for h, seconds in enumerate(horizons):
        used = ok_a[:, h]
        delta, se = metrics.paired_difference(nll_a[used, h], nll_b[used, h])
        inside = "yes" if abs(delta) <= 2 * se else "NO"
        print(
            f"| {seconds:g} | {int(used.sum()):,} | {nll_a[used, h].mean():.4f} | "
            f"{nll_b[used, h].mean():.4f} | {delta:+.1e} ± {2 * se:.1e} | {inside} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
