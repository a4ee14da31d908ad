"""Model families side by side (docs/results.md, "Model families"): train a transformer, a GRU and
LightGBM on one market, export each (parity checked), time each on the Rust runtime, then mix
them with ``ash ensemble`` and print the test table against the baselines and each member.

    ASH_EXPERIMENTS=/tmp/fam python scripts/compare_families.py synthetic   # configs/default.yaml …
    ASH_EXPERIMENTS=/tmp/fam python scripts/compare_families.py spy         # needs the SPY import
    … compare_families.py synthetic --set train.epochs=2 --set train.max_train_samples=8000

``--set`` overrides apply to every member's config (a smaller budget on a busy machine).

Writes ``$ASH_EXPERIMENTS/families_<market>/{rows.json, table.md, ensemble/}``; training time is
wall-clock of ``run_training`` (the ensemble's: weights, export and scoring), latency is
``ash-serve bench`` (batch 1, one thread, 1000 predictions).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from ash.config import load_experiment
from ash.ensemble.build import build_ensemble
from ash.ensemble.table import format_table
from ash.export.run import export_run
from ash.runs import experiments_root
from ash.runtime import measure_rust, serve_binary
from ash.train import run_training

CONFIGS = {
    "synthetic": ["configs/default.yaml", "configs/backbone_gru.yaml", "configs/lightgbm.yaml"],
    "spy": ["configs/spy.yaml", "configs/spy_gru.yaml", "configs/spy_lightgbm.yaml"],
}


def main(market: str, overrides: list[str]) -> None:
    out = experiments_root() / f"families_{market}"
    out.mkdir(parents=True, exist_ok=True)
    binary = serve_binary()
    rows: list[dict[str, Any]] = []
    run_dirs = []
    for config in CONFIGS[market]:
        started = time.perf_counter()
        trained = run_training(load_experiment(config, overrides), progress=False)
        train_s = time.perf_counter() - started
        exported = export_run(trained.run_dir, optimize=False)
        latency = measure_rust(binary, exported.result.path, threads=1, iters=1000)
        parity = exported.parity.max_abs_diff if exported.parity else None
        rows.append(
            {
                "config": config,
                "run": str(trained.run_dir),
                "train_s": train_s,
                "parity": parity,
                **latency,
            }
        )
        run_dirs.append(trained.run_dir)
        print(json.dumps(rows[-1]), flush=True)
    started = time.perf_counter()
    done = build_ensemble(run_dirs, out / "ensemble")
    latency = measure_rust(binary, done.export.path, threads=1, iters=1000)
    rows.append(
        {
            "config": "ensemble",
            "run": str(done.out_dir),
            "train_s": time.perf_counter() - started,
            "parity": done.parity.max_abs_diff,
            **latency,
        }
    )
    rows.append({"overrides": overrides})
    (out / "rows.json").write_text(json.dumps(rows, indent=1))
    (out / "table.md").write_text(format_table(done.table) + "\n")
    print(json.dumps(rows[-1]))
    print("weights [horizon, member]:", done.weights.round(3).tolist())
    print(format_table(done.table))


if __name__ == "__main__":
    args = sys.argv[1:]
    sets = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    main(args[0] if args else "synthetic", sets)
