"""The study report: outcome counts, time saved by latency-first pruning, and PNG plots.

Plots (matplotlib, headless): ``pareto.png`` (objective vs p99 latency of every trained trial,
the Pareto front, the budget, and latency-pruned candidates as marks on the latency axis),
``importances.png`` (PED-ANOVA parameter importances; needs neither scikit-learn nor SciPy) and
``history.png`` (objective by trial with the best so far).
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from ash.config.schema import TuneConfig
from ash.tune.best import NoCompletedTrialError, best_trial
from ash.tune.objective import (
    EPOCHS_ATTR,
    STATE_ACCURACY,
    STATE_ATTR,
    STATE_INVALID,
    STATE_LATENCY,
    TRAIN_S_ATTR,
)
from ash.tune.space import incomparable_objective
from ash.tune.study import ATTR_BASELINE_OUTSIDE, BASELINE_ATTR, redact


@dataclass
class TuneSummary:
    study_name: str
    n_trials: int = 0
    completed: int = 0
    pruned_latency: int = 0
    pruned_accuracy: int = 0
    pruned_invalid: int = 0
    failed: int = 0
    running: int = 0
    waiting: int = 0
    retried: int = 0  # trials re-enqueued after their worker died
    mean_train_s: float | None = None  # mean training time of completed trials
    latency_check_s: float = 0.0  # total export + timing time of all measured candidates
    saved_s: float | None = None  # latency-pruned trials x mean training time
    wall_s: float | None = None  # first trial start -> last trial end
    trials_per_hour: float | None = None
    runtimes: list[str] = field(default_factory=list)
    best_number: int | None = None
    best_value: float | None = None
    best_latency_p99_ms: float | None = None
    baseline: str = ""  # how the best trial compares with the default configuration

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def trial_state(trial: FrozenTrial) -> str:
    """complete | pruned-latency | pruned-accuracy | pruned-invalid | fail | running | waiting."""
    if trial.state == TrialState.PRUNED:
        state = trial.user_attrs.get(STATE_ATTR)
        return str(state) if state in (STATE_LATENCY, STATE_INVALID) else STATE_ACCURACY
    return {
        TrialState.COMPLETE: "complete",
        TrialState.FAIL: "fail",
        TrialState.RUNNING: "running",
        TrialState.WAITING: "waiting",
    }[trial.state]


def summarize(study: optuna.Study) -> TuneSummary:
    trials = study.get_trials(deepcopy=False)
    summary = TuneSummary(study.study_name, n_trials=len(trials))
    counters = {
        "complete": "completed",
        STATE_LATENCY: "pruned_latency",
        STATE_ACCURACY: "pruned_accuracy",
        STATE_INVALID: "pruned_invalid",
        "fail": "failed",
        "running": "running",
        "waiting": "waiting",
    }
    train_times: list[float] = []
    runtimes: set[str] = set()
    for trial in trials:
        state = trial_state(trial)
        attr = counters[state]
        setattr(summary, attr, getattr(summary, attr) + 1)
        if "failed_trial" in trial.system_attrs:
            summary.retried += 1
        summary.latency_check_s += float(trial.user_attrs.get("latency_export_s", 0.0))
        summary.latency_check_s += float(trial.user_attrs.get("latency_measure_s", 0.0))
        if "latency_runtime" in trial.user_attrs:
            runtimes.add(str(trial.user_attrs["latency_runtime"]))
        if state == "complete" and TRAIN_S_ATTR in trial.user_attrs:
            train_times.append(float(trial.user_attrs[TRAIN_S_ATTR]))
    summary.runtimes = sorted(runtimes)
    if train_times:
        summary.mean_train_s = sum(train_times) / len(train_times)
        summary.saved_s = summary.pruned_latency * summary.mean_train_s
    starts = [t.datetime_start for t in trials if t.datetime_start is not None]
    ends = [t.datetime_complete for t in trials if t.datetime_complete is not None]
    if starts and ends:
        wall = (max(ends) - min(starts)).total_seconds()
        summary.wall_s = wall
        finished = summary.completed + summary.pruned_latency + summary.pruned_accuracy
        if wall > 0:
            summary.trials_per_hour = (finished + summary.pruned_invalid) * 3600.0 / wall
    try:
        best = best_trial(study)
    except NoCompletedTrialError:
        return summary
    summary.best_number = best.number
    summary.best_value = best.values[0]
    latency = best.user_attrs.get("latency_p99_ms")
    summary.best_latency_p99_ms = float(latency) if latency is not None else None
    return summary


def baseline_verdict(study: optuna.Study, tune: TuneConfig, summary: TuneSummary) -> str:
    """Does the best trial beat the default configuration? If not, say why."""
    outside = study.user_attrs.get(ATTR_BASELINE_OUTSIDE) or []
    if outside:
        return (
            "The default configuration is not a point of this search space (its value of "
            f"{', '.join(f'`{p}`' for p in outside)} lies outside the searched range), so it "
            "was not run; train it with `ash train` to compare."
        )
    runs = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get(BASELINE_ATTR)]
    finished = [t for t in runs if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    if not finished:
        return "The default configuration (the study's first trial) has not finished yet."
    base = finished[-1]
    state = trial_state(base)
    p99 = base.user_attrs.get("latency_p99_ms")
    if state == STATE_LATENCY:
        return (
            f"The default configuration (trial {base.number}) is over the latency budget "
            f"(p99 {p99:.3f} ms > {tune.budget.p99_ms:g} ms), so it was never trained: it is "
            "not a feasible model here, and every completed trial meets the budget it misses."
        )
    if state == STATE_ACCURACY:
        return (
            f"The default configuration (trial {base.number}) was pruned for accuracy after "
            f"{base.user_attrs.get(EPOCHS_ATTR, '?')} epoch(s): its intermediate "
            f"{tune.objective} was worse than the median of earlier trials."
        )
    if state != "complete" or summary.best_value is None:
        return f"The default configuration (trial {base.number}) ended as {state}."
    value = base.values[0]
    gain = (value - summary.best_value) * (-1.0 if tune.direction == "maximize" else 1.0)
    if summary.best_number == base.number or gain <= 0:
        return (
            f"The default configuration (trial {base.number}, {tune.objective} {value:.5g}) is "
            f"still the best of {summary.completed} completed trial(s): the search found nothing "
            "better within the budget; run more trials or widen the space."
        )
    return (
        f"The best trial beats the default configuration (trial {base.number}, "
        f"{tune.objective} {value:.5g}) by {gain:.4g} ({100 * gain / abs(value):.2f} %)."
    )


def _fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def pareto_front(points: list[tuple[float, float, int]], maximize: bool) -> list[int]:
    """Trial numbers of (metric, latency, number) points no other point dominates."""
    sign = -1.0 if maximize else 1.0
    front = []
    for metric, latency, number in points:
        dominated = any(
            (sign * m <= sign * metric and lat <= latency)
            and (sign * m < sign * metric or lat < latency)
            for m, lat, _ in points
        )
        if not dominated:
            front.append(number)
    return front


def _plot_pareto(study: optuna.Study, tune: TuneConfig, path: Path) -> list[int]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trials = study.get_trials(deepcopy=False)
    done = [
        (t.values[0], float(t.user_attrs["latency_p99_ms"]), t.number)
        for t in trials
        if t.state == TrialState.COMPLETE and "latency_p99_ms" in t.user_attrs
    ]
    pruned_lat = [
        float(t.user_attrs["latency_p99_ms"])
        for t in trials
        if trial_state(t) == STATE_LATENCY and "latency_p99_ms" in t.user_attrs
    ]
    maximize = tune.direction == "maximize"
    front = pareto_front(done, maximize)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if done:
        ax.scatter([d[1] for d in done], [d[0] for d in done], c="tab:blue", label="trained")
        on_front = sorted((d for d in done if d[2] in front), key=lambda d: d[1])
        ax.plot(
            [d[1] for d in on_front],
            [d[0] for d in on_front],
            "o-",
            c="tab:red",
            label="Pareto front",
        )
        for metric, latency, number in on_front:
            ax.annotate(
                f"#{number}",
                (latency, metric),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
    if pruned_lat:
        ax.plot(
            pruned_lat,
            [0] * len(pruned_lat),
            "|",
            c="tab:gray",
            markersize=14,
            transform=ax.get_xaxis_transform(),
            label="pruned for latency (not trained)",
        )
    ax.axvline(tune.budget.p99_ms, ls="--", c="k", label=f"budget {tune.budget.p99_ms:g} ms")
    ax.set_xlabel(f"p99 latency, ms (batch {tune.budget.batch}, {tune.budget.threads} thread)")
    ax.set_ylabel(f"validation {tune.objective}")
    ax.set_title(f"{study.study_name}: {tune.objective} vs latency")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return sorted(front)


def importances(study: optuna.Study, maximize: bool = False) -> dict[str, float]:
    """PED-ANOVA importances of the first objective; empty when there is too little to fit."""
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    varying = {
        name
        for name in {p for t in completed for p in t.params}
        if len({repr(t.params.get(name)) for t in completed}) > 1
    }
    if len(completed) < 3 or not varying:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", UserWarning)  # "importances to achieve low target"
        sign = -1.0 if maximize else 1.0  # PED-ANOVA explains reaching *low* target values
        evaluator = optuna.importance.PedAnovaImportanceEvaluator()
        found = optuna.importance.get_param_importances(
            study, evaluator=evaluator, target=lambda t: sign * t.values[0]
        )
    return {k: float(v) for k, v in found.items()}


def _plot_importances(values: Mapping[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 1.8 + 0.35 * max(1, len(values))))
    if values:
        names = list(values)[::-1]
        ax.barh(names, [values[n] for n in names], color="tab:blue")
        ax.set_xlabel("importance (PED-ANOVA, share of the objective's variation)")
    else:
        ax.text(
            0.5,
            0.5,
            "too few completed trials to estimate importances",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
    ax.set_title("parameter importances")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_history(study: optuna.Study, tune: TuneConfig, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    fig, ax = plt.subplots(figsize=(7, 4))
    if trials:
        xs = [t.number for t in trials]
        ys = [t.values[0] for t in trials]
        ax.scatter(xs, ys, c="tab:blue", label="completed")
        best: list[float] = []
        for y in ys:
            if not best:
                best.append(y)
            else:
                better = max if tune.direction == "maximize" else min
                best.append(better(best[-1], y))
        # One extra point so the last improvement shows as a step, not a lone corner.
        ax.step(
            [*xs, xs[-1] + 0.5], [*best, best[-1]], where="post", c="tab:red", label="best so far"
        )
    pruned = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))]
    if pruned:
        ax.plot(
            pruned,
            [0] * len(pruned),
            "x",
            c="tab:gray",
            transform=ax.get_xaxis_transform(),
            label="pruned",
        )
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation {tune.objective}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _trial_rows(study: optuna.Study) -> list[str]:
    rows = [
        "| trial | state | value | p99 ms | runtime | epochs | train s | params |",
        "|---:|---|---:|---:|---|---:|---:|---|",
    ]
    for t in study.get_trials(deepcopy=False):
        value = f"{t.values[0]:.5g}" if t.values else ""
        p99 = t.user_attrs.get("latency_p99_ms")
        train_s = t.user_attrs.get(TRAIN_S_ATTR)
        params = ", ".join(f"{k}={v}" for k, v in sorted(t.params.items()))
        default = " (default)" if t.user_attrs.get(BASELINE_ATTR) else ""
        rows.append(
            f"| {t.number} | {trial_state(t)}{default} | {value} | "
            f"{'' if p99 is None else f'{p99:.3f}'} | {t.user_attrs.get('latency_runtime', '')} | "
            f"{t.user_attrs.get(EPOCHS_ATTR, 0)} | "
            f"{'' if train_s is None else f'{train_s:.1f}'} | {params} |"
        )
    return rows


def write_report(
    study: optuna.Study,
    tune: TuneConfig,
    out_dir: Path,
    *,
    storage_url: str,
    best_yaml: Path | None = None,
) -> TuneSummary:
    """Write ``report.md`` and ``plots/*.png`` under ``out_dir``; return the summary."""
    plots = out_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    summary = summarize(study)
    summary.baseline = baseline_verdict(study, tune, summary)
    front = _plot_pareto(study, tune, plots / "pareto.png")
    found = importances(study, maximize=tune.direction == "maximize")
    _plot_importances(found, plots / "importances.png")
    _plot_history(study, tune, plots / "history.png")
    runtime = ", ".join(summary.runtimes) or "none measured"
    label = (
        " (Python ONNX Runtime: the Rust runtime's bench was not available)"
        if summary.runtimes == ["onnxruntime"]
        else ""
    )
    lines = [
        f"# Tuning report: {study.study_name}",
        "",
        f"Written {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC. "
        f"Storage: `{redact(storage_url)}`.",
        f"Objective: validation `{tune.objective}` ({tune.direction})"
        + (", multi-objective with p99 latency" if tune.multi_objective else "")
        + f"; sampler {tune.sampler}, pruner {tune.pruner}.",
        f"Latency budget: p99 <= {tune.budget.p99_ms:g} ms at batch {tune.budget.batch}, "
        f"{tune.budget.threads} thread(s), measured on: {runtime}{label}.",
        "",
        "## Outcome",
        "",
        "| trials | completed | pruned for latency (no training) | pruned for accuracy "
        "| invalid config | failed | running | retried after a dead worker |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {summary.n_trials} | {summary.completed} | {summary.pruned_latency} | "
        f"{summary.pruned_accuracy} | {summary.pruned_invalid} | {summary.failed} | "
        f"{summary.running} | {summary.retried} |",
        "",
        f"- Mean training time of a completed trial: {_fmt_s(summary.mean_train_s)}.",
        f"- Wall time saved by latency-first pruning (latency-pruned trials × mean training "
        f"time): **{_fmt_s(summary.saved_s)}**, at a cost of {_fmt_s(summary.latency_check_s)} "
        "of export + latency measurement over all candidates.",
        f"- Study wall time {_fmt_s(summary.wall_s)}; "
        + (
            f"{summary.trials_per_hour:.1f} finished trials/hour (all workers)."
            if summary.trials_per_hour is not None
            else "throughput n/a."
        ),
    ]
    if summary.best_number is not None:
        lines.append(
            f"- Best trial: #{summary.best_number}, {tune.objective} = {summary.best_value:.6g}, "
            f"p99 = {summary.best_latency_p99_ms or float('nan'):.4g} ms"
            + (f"; config: `{best_yaml}`" if best_yaml else "")
            + "."
        )
    else:
        lines.append("- No completed trial yet: no best configuration.")
    lines.append(f"- Against the default configuration: {summary.baseline}")
    bad = incomparable_objective(tune.space, tune.objective)
    if bad:
        lines.append(
            f"- **Caution**: the space changes {', '.join(f'`{p}`' for p in bad)}, so "
            f"`{tune.objective}` (NLL over buckets) is not comparable between trials: fewer or "
            "wider buckets score a lower NLL without a better forecast. Rank such trials by a "
            "bucket-independent metric, or fix these fields."
        )
    if tune.multi_objective or front:
        lines.append(f"- Pareto front (metric vs latency): trials {front}.")
    lines += [
        "",
        "## Plots",
        "",
        "![objective vs latency](plots/pareto.png)",
        "",
        "![parameter importances](plots/importances.png)",
        "",
        "![history](plots/history.png)",
        "",
        "## Parameter importances",
        "",
    ]
    if found:
        lines += [f"- `{k}`: {v:.3f}" for k, v in found.items()]
    else:
        lines.append("Too few completed trials with varying parameters to estimate them.")
    lines += ["", "## Trials", "", *_trial_rows(study), ""]
    text = "\n".join(lines)
    tmp = out_dir / f".report.md.{os.getpid()}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out_dir / "report.md")
    return summary
