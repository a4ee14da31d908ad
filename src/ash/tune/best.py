"""The best trial as a plain, config-only experiment YAML (no ``tune`` block, no ``extends``).

``ash train best.yaml`` retrains exactly the trial's configuration (same seed, same values), so it
reproduces the trial's validation metric up to run-to-run noise.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.trial import FrozenTrial, TrialState

from ash.config.schema import SearchDimension
from ash.tune.objective import STATE_ATTR, STATE_COMPLETE, VALUES_ATTR
from ash.tune.space import apply_values, decode_params


class NoCompletedTrialError(RuntimeError):
    """The study has no completed (trained, within-budget) trial to pick from."""


def completed_trials(study: optuna.Study) -> list[FrozenTrial]:
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return [t for t in trials if t.user_attrs.get(STATE_ATTR, STATE_COMPLETE) == STATE_COMPLETE]


def best_trial(study: optuna.Study) -> FrozenTrial:
    """The completed trial with the best objective (in multi-objective mode: best metric on the
    Pareto front; every completed trial is within the latency budget by construction)."""
    trials = completed_trials(study)
    if not trials:
        raise NoCompletedTrialError(
            f"study {study.study_name!r} has no completed trial yet "
            "(all pruned for latency or accuracy, failed, or still running); "
            "loosen tune.budget.p99_ms or run more trials"
        )
    sign = 1.0 if study.directions[0] == optuna.study.StudyDirection.MINIMIZE else -1.0
    return min(trials, key=lambda t: (sign * t.values[0], t.number))


def trial_values(trial: FrozenTrial, space: Mapping[str, SearchDimension]) -> dict[str, Any]:
    """The config values a trial used (decoded; falls back to its raw Optuna params)."""
    stored = trial.user_attrs.get(VALUES_ATTR)
    if isinstance(stored, dict):
        return dict(stored)
    return decode_params(trial.params, space)


def best_experiment(
    study: optuna.Study,
    base_raw: Mapping[str, Any],
    space: Mapping[str, SearchDimension],
    name: str | None = None,
) -> tuple[dict[str, Any], FrozenTrial]:
    trial = best_trial(study)
    raw = apply_values(base_raw, trial_values(trial, space))
    raw.pop("extends", None)
    raw["name"] = name or f"{base_raw.get('name', 'experiment')}_best"
    return raw, trial


def _header(study: optuna.Study, trial: FrozenTrial, objective: str) -> str:
    latency = trial.user_attrs.get("latency_p99_ms")
    runtime = trial.user_attrs.get("latency_runtime", "?")
    lines = [
        f"# Best trial {trial.number} of Optuna study {study.study_name!r}, written by `ash tune`.",
        f"# Validation {objective}: {trial.values[0]:.6g}",
    ]
    if latency is not None:
        lines.append(f"# Untrained-candidate latency p99: {latency:.4g} ms ({runtime})")
    lines.append("# Plain config-only experiment: retrain with `ash train <this file>`.")
    return "\n".join(lines) + "\n"


def write_best_yaml(
    study: optuna.Study,
    base_raw: Mapping[str, Any],
    space: Mapping[str, SearchDimension],
    path: Path,
    objective: str,
    name: str | None = None,
) -> FrozenTrial:
    """Write the best trial's experiment to ``path`` atomically (workers may finish together)."""
    raw, trial = best_experiment(study, base_raw, space, name)
    text = _header(study, trial, objective) + yaml.safe_dump(raw, sort_keys=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return trial
