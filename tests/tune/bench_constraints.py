"""Does the latency constraint teach the sampler where the budget lies? (benchmark, not a test)

    python -m tests.tune.bench_constraints [--trials 40] [--seeds 5]

A synthetic landscape where bigger is better but slower: latency = d_model * n_layers / 64 ms,
metric improves with size and has a best learning rate; the budget (2 ms) cuts through the
middle of the space. Deterministic fake latency and trainer, real study/objective/sampler code.
Prints, per sampler, the share of over-budget proposals after the start-up trials and the best
feasible metric (median over seeds).
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import tempfile
import warnings
from pathlib import Path
from typing import Any

import optuna
from torch import nn

from ash.tune.latency import LatencyResult
from ash.tune.runner import TuneOptions, run_tune
from tests.tune.conftest import BASE, FakeResult, write_experiment


class _Candidate(nn.Module):
    def __init__(self, d_model: int, n_layers: int) -> None:
        super().__init__()
        self.size = (d_model, n_layers)


def _build(resolved: Any) -> tuple[nn.Module, dict[str, Any]]:
    cfg = resolved.component("model.backbone").config
    return _Candidate(cfg.d_model, cfg.n_layers), {}


def _measure(model: Any, metadata: Any, path: Path, tune: Any) -> LatencyResult:
    d_model, n_layers = model.size
    p99 = d_model * n_layers / 64
    return LatencyResult(p99 / 2, p99, "onnxruntime", 1, 1, 1, 0.0, 0.0)


def _train(resolved: Any, *, run_dir: Path, on_epoch: Any, progress: bool) -> FakeResult:
    exp = resolved.experiment
    cfg = resolved.component("model.backbone").config
    size = cfg.d_model * cfg.n_layers
    metric = 2.0 / math.log2(size + 2) + 0.05 * (math.log10(exp.train.lr) + 3) ** 2
    on_epoch(0, {"nll": metric})
    return FakeResult(run_dir, {"nll": metric})


def run(sampler: str, constrained: bool, seed: int, trials: int, root: Path) -> tuple[float, float]:
    """(share of over-budget proposals after the start-up trials, best feasible metric)."""
    import ash.tune.study as study_mod

    data = copy.deepcopy(BASE)
    data["tune"].update(
        space={
            "model.backbone.d_model": {"type": "int", "low": 16, "high": 256, "step": 16},
            "model.backbone.n_layers": {"type": "int", "low": 1, "high": 4},
            "train.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        },
        budget={"p99_ms": 2.0},
        sampler=sampler,
        pruner="none",
        seed=seed,
        trials=trials,
    )
    name = f"{sampler}_{'c' if constrained else 'u'}_{seed}"
    data["name"] = name
    path = write_experiment(root / f"{name}.yaml", data)
    url = f"sqlite:///{root / name}.db"
    original = study_mod.latency_constraint
    if not constrained:  # the same sampler without constraints_func, for comparison
        study_mod.latency_constraint = None  # type: ignore[assignment]
    try:
        run_tune(
            path,
            TuneOptions(storage=url, out_root=root / "t", worker_id="bench"),
            train_fn=_train,
            build_fn=_build,
            measure_fn=_measure,
        )
    finally:
        study_mod.latency_constraint = original
    study = optuna.load_study(study_name=name, storage=url)
    startup = max(3, min(10, trials // 4))
    later = study.trials[startup:]
    over = sum(t.user_attrs.get("ash.state") == "pruned-latency" for t in later) / len(later)
    values = [t.value for t in study.trials if t.value is not None]
    return over, min(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    configs = [("random", True), ("tpe", False), ("tpe", True), ("nsga2", True)]
    print(f"{args.trials} trials, {args.seeds} seeds, budget 2 ms; median over seeds")
    print(f"{'sampler':<22} {'over-budget after start-up':>28} {'best feasible nll':>18}")
    with tempfile.TemporaryDirectory() as tmp:
        for sampler, constrained in configs:
            results = [
                run(sampler, constrained, seed, args.trials, Path(tmp))
                for seed in range(args.seeds)
            ]
            over = statistics.median(r[0] for r in results)
            best = statistics.median(r[1] for r in results)
            label = f"{sampler} ({'constraint' if constrained else 'no constraint'})"
            print(f"{label:<22} {over:>27.0%} {best:>18.4f}")


if __name__ == "__main__":
    main()
