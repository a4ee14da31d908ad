"""``ash evaluate RUN``: score a trained run on validation and test against the baselines."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ash import runs
from ash.components.discretizers.base import centers
from ash.data.windows import subsample
from ash.evaluate import metrics as m
from ash.evaluate import plots
from ash.evaluate.by_symbol import difference_panels, score_by_symbol
from ash.evaluate.forecasts import save_split_forecasts
from ash.evaluate.pnl import simulate
from ash.evaluate.predict import (
    FittedBaselines,
    SplitForecasts,
    baseline_forecasts,
    fit_baselines,
    model_forecasts,
    oracle_forecasts,
)
from ash.evaluate.report import write_report

if TYPE_CHECKING:
    from ash.config.schema import EvaluateConfig
from ash.model import AshModel
from ash.pipeline import PreparedData, make_source, prepare_data

ORACLE = "oracle"
FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
PIT_BINS = 10


def horizon_key(seconds: float) -> str:
    return f"h{seconds:g}"


def score_split(
    fc: SplitForecasts,
    prepared: PreparedData,
    *,
    bins: int,
    threshold: float,
    cost_bps: float,
) -> dict[str, Any]:
    """Per horizon and forecaster: the scalar metrics on a mask shared by every forecaster."""
    horizons = prepared.horizons_s
    result: dict[str, Any] = {"n_samples": len(fc.ends), "forecasters": {}, "model_extra": {}}
    for name in fc.probs:
        result["forecasters"][name] = {}
    reliab: list[dict[str, m.Reliability]] = []
    pit_counts: list[np.ndarray] = []
    for h, seconds in enumerate(horizons):
        key = horizon_key(seconds)
        mask = fc.ids[:, h] >= 0
        for name, probs in fc.probs.items():
            if name != ORACLE:
                mask &= np.isfinite(probs[:, h]).all(axis=1)
        y = fc.ids[mask, h]
        for name, probs in fc.probs.items():
            if name != ORACLE:
                result["forecasters"][name][key] = m.score_horizon(
                    probs[mask, h], y, reliability_bins=bins, seed=h
                )
        if ORACLE in fc.probs:
            score_oracle(fc, h, key, mask, bins, result)
        p = fc.probs["model"][mask, h]
        edges = fc.edges[mask, h]
        centers = _centers(edges)
        mean, std = m.moments(p, centers)
        acc, coverage = m.directional_accuracy(mean, fc.realized[mask, h])
        extra = {
            "directional_accuracy": acc,
            "directional_coverage": coverage,
            "predicted_std_bps": float(std.mean()),
            "realized_std_bps": float(np.std(fc.realized[mask, h])),
            **{
                f"pnl_{k}": v
                for k, v in simulate(
                    p,
                    edges,
                    fc.realized[mask, h],
                    fc.ends[mask],
                    prepared.horizon_steps[h],
                    threshold=threshold,
                    cost_bps=cost_bps,
                ).items()
            },
        }
        model_nll = m.nll_per_sample(p, y)
        for name, probs in fc.probs.items():
            if name not in (ORACLE, "model", "model_uncalibrated"):
                delta, se = m.paired_difference(model_nll, m.nll_per_sample(probs[mask, h], y))
                extra[f"nll_minus_{name}"] = delta
                extra[f"nll_minus_{name}_se"] = se
        result["model_extra"][key] = extra
        rel = {"model": m.reliability(p, y, bins)}
        if "model_uncalibrated" in fc.probs:
            rel["model_uncalibrated"] = m.reliability(
                fc.probs["model_uncalibrated"][mask, h], y, bins
            )
        reliab.append(rel)
        rng = np.random.default_rng(1000 + h)
        pit_counts.append(m.pit_histogram(m.pit(p, y, rng.random(len(y))), PIT_BINS))
    fc.info["reliability"] = reliab
    fc.info["pit_counts"] = pit_counts
    result["by_symbol"] = score_by_symbol(fc, prepared, bins=bins)
    return result


def score_with_baselines(
    fc: SplitForecasts,
    prepared: PreparedData,
    fitted: FittedBaselines,
    oracle: Any,
    cfg: EvaluateConfig,
) -> dict[str, Any]:
    """Add the baselines' (and, when there is one, the oracle's) forecasts to ``fc`` and score
    every forecaster (:func:`score_split`) with the experiment's evaluation settings."""
    baseline_forecasts(fitted, prepared, fc)
    if oracle is not None:
        oracle_forecasts(oracle, prepared, fc, cfg.oracle_max_samples)
    return score_split(
        fc,
        prepared,
        bins=cfg.reliability_bins,
        threshold=cfg.pnl_threshold,
        cost_bps=cfg.cost_bps,
    )


def score_oracle(
    fc: SplitForecasts, h: int, key: str, mask: np.ndarray, bins: int, result: dict[str, Any]
) -> None:
    """The oracle on its own subset, and the model's share of the climatology→oracle gap with
    model and climatology re-scored on exactly that subset."""
    sub = mask & np.isfinite(fc.probs[ORACLE][:, h]).all(axis=1)
    if not sub.any():
        return
    y = fc.ids[sub, h]
    result["forecasters"][ORACLE][key] = m.score_horizon(
        fc.probs[ORACLE][sub, h], y, reliability_bins=bins, seed=h
    )
    same = {name: m.nll(fc.probs[name][sub, h], y) for name in ("model", "climatology")}
    result.setdefault("gap_closed", {})[key] = gap_closed(
        same["climatology"], same["model"], result["forecasters"][ORACLE][key]["nll"]
    )
    result.setdefault("oracle_subset", {})[key] = {
        "n": int(sub.sum()),
        "model_nll": same["model"],
        "climatology_nll": same["climatology"],
    }


def gap_closed(climatology_nll: float, model_nll: float, oracle_nll: float) -> float:
    """Share of the climatology→oracle NLL gap the model closes (1 = as good as the oracle)."""
    gap = climatology_nll - oracle_nll
    if not np.isfinite(gap) or gap <= 0:
        return float("nan")
    return float((climatology_nll - model_nll) / gap)


def _centers(edges: np.ndarray) -> np.ndarray:
    return centers(torch.as_tensor(edges)).numpy()  # type: ignore[no-any-return]


def split_forecasts(
    name: str,
    model: AshModel,
    prepared: PreparedData,
    ends: np.ndarray,
    *,
    feature_cache: bool = True,
) -> SplitForecasts:
    cal, uncal, edges, ids = model_forecasts(model, prepared, ends, feature_cache=feature_cache)
    fc = SplitForecasts(name, ends, edges, prepared.returns_bps[ends], ids)
    fc.probs["model"] = cal
    fc.probs["model_uncalibrated"] = uncal
    return fc


def longest_run(ends: np.ndarray, limit: int) -> np.ndarray:
    """The first run of consecutive bar indices of length ``limit`` (else the longest)."""
    if len(ends) == 0:
        return ends
    breaks = np.flatnonzero(np.diff(ends) != 1) + 1
    starts = np.r_[0, breaks]
    stops = np.r_[breaks, len(ends)]
    lengths = stops - starts
    enough = np.flatnonzero(lengths >= limit)
    i = int(enough[0]) if len(enough) else int(np.argmax(lengths))
    return ends[starts[i] : starts[i] + min(limit, int(lengths[i]))]


def make_fan_chart(model: AshModel, prepared: PreparedData, limit: int, path: Path) -> Path | None:
    stretch = longest_run(prepared.samples.test, limit)
    if len(stretch) < 2:
        return None
    cal, _, edges, _ = model_forecasts(model, prepared, stretch)
    data = prepared.bars
    reference = data.column(prepared.reference)
    t0 = data.ts_ns[stretch[0]]
    times = (data.ts_ns[stretch] - t0) / 1e9
    n_h = len(prepared.horizons_s)
    picks = sorted({max(0, n_h // 4), n_h // 2, min(n_h - 1, (3 * n_h) // 4)})
    panels = []
    for h in picks:
        q = plots.quantiles_from_buckets(cal[:, h], edges[:, h], FAN_QUANTILES)
        panels.append(
            (prepared.horizons_s[h], times, reference[stretch][:, None] * np.exp(q / 1e4))
        )
    last = min(len(reference) - 1, int(stretch[-1]) + max(prepared.horizon_steps))
    same = data.segment_id[stretch[0] : last + 1] == data.segment_id[stretch[0]]
    path_idx = np.arange(stretch[0], last + 1)[same]
    return plots.fan_chart(
        (data.ts_ns[path_idx] - t0) / 1e9 + data.bar_seconds,
        reference[path_idx],
        panels,
        "Predicted distribution (test) vs realized reference price",
        path,
    )


def evaluate_run(run_dir: Path) -> dict[str, Any]:
    """Score ``run_dir``'s final model; writes metrics.json, plots/*.png and report.md."""
    started = time.time()
    run_dir = Path(run_dir)
    model, resolved = runs.load_model(run_dir)
    exp = resolved.experiment
    cfg = exp.evaluate
    meta = runs.read_json(run_dir / runs.META_FILE)
    prepared = prepare_data(resolved, model.window, runs.experiments_root(), fold=meta.get("fold"))
    if prepared.fingerprint != meta["data_fingerprint"]:
        raise runs.RunError(
            f"{run_dir} was trained on data {meta['data_fingerprint']} but the source now builds "
            f"{prepared.fingerprint}; the data changed since training"
        )
    fitted = fit_baselines(model, prepared, cfg.max_samples)
    oracle = make_source(resolved).oracle() if cfg.oracle else None
    evaluation: dict[str, Any] = {
        "horizons_s": list(prepared.horizons_s),
        "baselines": fitted.describe(),
        "oracle": oracle is not None,
    }
    forecasts: dict[str, SplitForecasts] = {}
    for split in ("val", "test"):
        ends = subsample(prepared.samples.as_dict()[split], cfg.max_samples)
        fc = split_forecasts(split, model, prepared, ends, feature_cache=exp.train.feature_cache)
        evaluation[split] = score_with_baselines(fc, prepared, fitted, oracle, cfg)
        evaluation[split]["oracle_target_agreement"] = fc.info.get("oracle_target_agreement")
        forecasts[split] = fc
        save_split_forecasts(run_dir, fc, prepared)  # RUN/forecasts/<split>.parquet
    evaluation["calibration"] = {
        horizon_key(s): {
            "temperature": float(model.temperature[h]),
            "val_ece_before": evaluation["val"]["forecasters"]["model_uncalibrated"][
                horizon_key(s)
            ]["ece"],
            "val_ece_after": evaluation["val"]["forecasters"]["model"][horizon_key(s)]["ece"],
            "test_ece_before": evaluation["test"]["forecasters"]["model_uncalibrated"][
                horizon_key(s)
            ]["ece"],
            "test_ece_after": evaluation["test"]["forecasters"]["model"][horizon_key(s)]["ece"],
        }
        for h, s in enumerate(prepared.horizons_s)
    }
    figures = write_figures(run_dir, model, prepared, forecasts, evaluation, cfg.fan_chart_bars)
    evaluation["figures"] = [str(p.relative_to(run_dir)) for p in figures]
    evaluation["seconds"] = time.time() - started
    all_metrics = runs.read_json(run_dir / runs.METRICS_FILE)
    all_metrics["evaluation"] = evaluation
    runs.write_json(run_dir / runs.METRICS_FILE, all_metrics)
    write_report(run_dir, meta, all_metrics)
    return all_metrics  # type: ignore[no-any-return]


def write_figures(
    run_dir: Path,
    model: AshModel,
    prepared: PreparedData,
    forecasts: dict[str, SplitForecasts],
    evaluation: dict[str, Any],
    fan_bars: int,
) -> list[Path]:
    folder = run_dir / runs.PLOTS
    horizons = prepared.horizons_s
    out = []
    for split, fc in forecasts.items():
        out.append(
            plots.reliability_diagrams(
                fc.info["reliability"],
                horizons,
                f"Reliability ({split}), before/after temperature scaling",
                folder / f"reliability_{split}.png",
            )
        )
    test = forecasts["test"]
    out.append(
        plots.pit_histograms(
            test.info["pit_counts"], horizons, "Randomized PIT (test)", folder / "pit_test.png"
        )
    )
    table = {
        name: [by_h[horizon_key(s)]["nll"] for s in horizons]
        for name, by_h in evaluation["test"]["forecasters"].items()
    }
    out.append(
        plots.nll_by_horizon(table, horizons, "Test NLL by horizon", folder / "nll_by_horizon.png")
    )
    out.append(
        plots.paired_differences(
            difference_panels(evaluation["test"], horizons),
            horizons,
            "Test: model − baseline NLL ± 2 se (below 0: model better)",
            folder / "nll_differences.png",
        )
    )
    fan = make_fan_chart(model, prepared, fan_bars, folder / "fan_chart.png")
    if fan is not None:
        out.append(fan)
    loss_curve = folder / "loss_curve.png"
    if loss_curve.is_file():
        out.append(loss_curve)
    return out
