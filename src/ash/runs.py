"""Run folders: ``experiments/runs/<experiment>_<UTC timestamp>/`` and what lives inside.

Layout (the exporter and the evaluator read these; docs/training.md lists them too)::

    config.yaml            the fully resolved experiment (every default filled in)
    plugins.json           plugin name, kind, distribution and version of every component
    meta.json              data fingerprint, bar columns, bar seconds, window, horizons, splits …
    metrics.json           {"val": {...}} after training; the evaluator adds test, baselines …
    history.json/.csv      one row per epoch; plots/loss_curve.png
    checkpoints/last.pt    resumable training state (atomic, weights_only-loadable)
    checkpoints/best.pt    best weights so far (by validation NLL)
    checkpoints/model.pt   the final model: best weights with calibrated temperatures
    plots/  report.md      written by the evaluator
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import yaml

from ash.checkpoint import load_checkpoint, load_weights
from ash.config.resolve import ResolvedExperiment, resolve
from ash.interfaces import Backbone, Discretizer, Family, FeatureBuilder, ModelContext
from ash.model import AshModel, build_model
from ash.run_files import CHECKPOINTS as CHECKPOINTS
from ash.run_files import CONFIG_FILE as CONFIG_FILE
from ash.run_files import HISTORY_CSV as HISTORY_CSV
from ash.run_files import HISTORY_JSON as HISTORY_JSON
from ash.run_files import META_FILE as META_FILE
from ash.run_files import METRICS_FILE as METRICS_FILE
from ash.run_files import PLUGINS_FILE as PLUGINS_FILE
from ash.run_files import REPORT_FILE as REPORT_FILE

ENV_ROOT = "ASH_EXPERIMENTS"

LAST = "last.pt"
BEST = "best.pt"
FINAL = "model.pt"
PLOTS = "plots"


class RunError(ValueError):
    """A run folder that is missing pieces or does not match what is asked of it."""


def experiments_root() -> Path:
    """Where runs and the bar cache live: ``$ASH_EXPERIMENTS`` or ``./experiments``."""
    return Path(os.environ.get(ENV_ROOT, "experiments"))


def new_run_dir(experiment: str, root: Path | None = None) -> Path:
    """A fresh, unique run folder ``<root>/runs/<experiment>_<YYYYmmddTHHMMSSZ>[_n]``."""
    base = (root or experiments_root()) / "runs"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = base / f"{experiment}_{stamp}"
    n = 1
    while candidate.exists():
        candidate = base / f"{experiment}_{stamp}_{n}"
        n += 1
    candidate.mkdir(parents=True)
    (candidate / CHECKPOINTS).mkdir()
    (candidate / PLOTS).mkdir()
    return candidate


def write_json(path: Path, data: Any) -> None:
    """Pretty JSON, written atomically (NaN/inf become null: standard JSON has neither)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(_finite(data), indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def read_json(path: Path) -> Any:
    if not path.is_file():
        raise RunError(f"{path} is missing; is {path.parent} a complete ash run folder?")
    return json.loads(path.read_text())


def write_config(run_dir: Path, resolved: ResolvedExperiment) -> None:
    text = yaml.safe_dump(resolved.to_dict(), sort_keys=False)
    (run_dir / CONFIG_FILE).write_text(text)
    write_json(run_dir / PLUGINS_FILE, resolved.plugin_versions())


def load_config(run_dir: Path) -> ResolvedExperiment:
    """The run's resolved experiment, validated again against the installed plugins."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise RunError(f"{path} is missing; {run_dir} is not an ash run folder")
    raw = yaml.safe_load(path.read_text())
    return resolve(raw)


def model_context(resolved: ResolvedExperiment, bar_columns: tuple[str, ...]) -> ModelContext:
    exp = resolved.experiment
    return ModelContext(tuple(bar_columns), exp.bars.seconds, tuple(exp.horizons))


def make_model(resolved: ResolvedExperiment, bar_columns: tuple[str, ...]) -> AshModel:
    """Assemble the experiment's model for bars with ``bar_columns`` (untrained)."""
    exp = resolved.experiment
    disc = resolved.component("model.discretizer")
    backbone = resolved.components.get("model.backbone")  # absent for a fitted family
    family = resolved.component("model.family")
    return build_model(
        model_context(resolved, bar_columns),
        exp.model.steps,
        [(f.component_class(FeatureBuilder), f.config) for f in resolved.features],
        (backbone.component_class(Backbone), backbone.config) if backbone else None,
        (disc.component_class(Discretizer), disc.config),
        head_hidden=exp.model.head.hidden,
        dropout=exp.model.head.dropout,
        prior=exp.model.prior,
        reference=exp.bars.reference,
        family=(family.component_class(Family), family.config),
    )


def load_model(run_dir: Path, which: str = FINAL) -> tuple[AshModel, ResolvedExperiment]:
    """The run's model (default: the final, calibrated one) in eval mode, on the CPU."""
    run_dir = Path(run_dir)
    resolved = load_config(run_dir)
    meta = read_json(run_dir / META_FILE)
    model = make_model(resolved, tuple(meta["bar_columns"]))
    path = run_dir / CHECKPOINTS / which
    state = load_checkpoint(path)
    load_weights(model, state.get("model"), path)
    model.eval()
    return model, resolved
