"""A trained run folder as a forecaster (PyTorch), and its evaluation on chosen dates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml

from ash import runs
from ash.api.forecaster import Forecaster
from ash.config.resolve import ResolvedExperiment, resolve
from ash.data.windows import gather_windows, subsample
from ash.evaluate.forecasts import split_frame
from ash.evaluate.predict import FittedBaselines, baselines_on, fit_baselines
from ash.evaluate.run import horizon_key, score_split, score_with_baselines, split_forecasts
from ash.interfaces import horizon_bars
from ash.model import AshModel
from ash.pipeline import (
    PreparedData,
    Samples,
    bar_spec,
    forward_returns_bps,
    load_bar_data,
    prepare_data,
    sample_ends,
)

BATCH = 256


@dataclass(frozen=True)
class Evaluation:
    """A run scored on chosen dates: ``metrics`` (one row per forecaster and horizon: NLL,
    Brier, RPS, ECE, …) and ``forecasts`` (the forecast table with realized returns)."""

    metrics: pd.DataFrame
    forecasts: pd.DataFrame
    raw: dict[str, Any]


class Run(Forecaster):
    """A run folder: its final (calibrated) model, resolved experiment and bar spec."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        model, resolved = runs.load_model(self.path)
        self.model: AshModel = model
        self.resolved: ResolvedExperiment = resolved
        exp = resolved.experiment
        if exp.data.options or exp.data.context_symbol is not None:
            raise ValueError(
                f"{self.path}: the API predicts from one symbol's trades and quotes; this run "
                "also reads option surfaces or a context symbol (evaluate it on dates instead)"
            )
        meta = runs.read_json(self.path / runs.META_FILE)
        self.spec = bar_spec(exp)
        self.columns = tuple(meta["bar_columns"])
        self.window = model.window
        self.horizons_s = tuple(float(h) for h in exp.horizons)

    def _baselines(self, prepared: PreparedData) -> FittedBaselines:
        fitted, symbols = _fitted_on_training_span(self)
        return baselines_on(fitted, symbols, prepared)

    def outputs(self, values: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(values, dtype=np.float32)
        probs, edges = [], []
        with torch.no_grad():
            for start in range(0, len(ends), BATCH):
                batch = torch.from_numpy(
                    gather_windows(x, ends[start : start + BATCH], self.window)
                )
                p, e = self.model(batch)
                probs.append(p.numpy())
                edges.append(e.numpy())
        return np.concatenate(probs), np.concatenate(edges)

    def evaluate(
        self,
        start: str | None,
        end: str | None,
        *,
        max_samples: int | None = None,
        baselines: bool = True,
    ) -> Evaluation:
        """Score the run on its symbols' bars in ``[start, end)`` (dates or times, as
        ``data.start``/``data.end``): every sample with a full window and a target, or an even
        subsample of ``max_samples``. Scored: the model and, with ``baselines``, climatology and
        the EWMA Gaussians fitted on the run's own training span (as ``ash evaluate`` fits them:
        never on the chosen dates), so the paired differences ``nll_minus_*`` ± se are there."""
        raw = yaml.safe_load((self.path / runs.CONFIG_FILE).read_text())
        raw.setdefault("data", {}).update({"start": start, "end": end})
        resolved = resolve(raw)
        exp = resolved.experiment
        data = load_bar_data(resolved, runs.experiments_root())
        steps = horizon_bars(exp.horizons, data.bar_seconds)
        returns = forward_returns_bps(data, exp.bars.reference, steps)
        ends = subsample(sample_ends(data, returns, self.window, exp.bars.gap_policy), max_samples)
        if len(ends) == 0:
            raise ValueError(
                f"no sample in [{start}, {end}) has a full window of {self.window} bars and a "
                "target; choose a longer span"
            )
        none = ends[:0]
        prepared = PreparedData(
            data,
            returns,
            tuple(exp.horizons),
            steps,
            self.window,
            Samples(none, none, ends),
            exp.bars.reference,
        )
        fc = split_forecasts(
            "chosen", self.model, prepared, ends, feature_cache=exp.train.feature_cache
        )
        cfg = exp.evaluate
        if baselines:
            scored = score_with_baselines(fc, prepared, self._baselines(prepared), None, cfg)
        else:
            scored = score_split(
                fc,
                prepared,
                bins=cfg.reliability_bins,
                threshold=cfg.pnl_threshold,
                cost_bps=cfg.cost_bps,
            )
        rows = []
        for name, by_h in scored["forecasters"].items():
            for seconds in prepared.horizons_s:
                extra = scored["model_extra"][horizon_key(seconds)] if name == "model" else {}
                rows.append(
                    {
                        "forecaster": name,
                        "horizon_s": float(seconds),
                        **by_h[horizon_key(seconds)],
                        **extra,
                    }
                )
        return Evaluation(pd.DataFrame(rows), split_frame(fc, prepared), scored)


def _fitted_on_training_span(run: Run) -> tuple[FittedBaselines, list[str]]:
    """The run's baselines, fitted on its own training span (the data it was trained on)."""
    meta = runs.read_json(run.path / runs.META_FILE)
    train = prepare_data(run.resolved, run.window, runs.experiments_root(), fold=meta.get("fold"))
    fitted = fit_baselines(run.model, train, run.resolved.experiment.evaluate.max_samples)
    return fitted, list(train.bars.symbols)


def load_run(path: str | Path) -> Run:
    """A trained run folder (``experiments/runs/<name>_<time>``) as a forecaster."""
    return Run(Path(path))
