"""Rust runtime vs bare ONNX Runtime vs Python ONNX Runtime vs PyTorch eager, in one run.

Exports the default experiment's model at the three sizes of ``ash.bench.graph`` (untrained:
latency depends on the architecture, not the weights), runs ``ash-serve bench`` on them (Rust
``predict``, bare ``Session::run``, Python ONNX Runtime reference, batched throughput), then
times PyTorch eager on the same modules, 1 thread, batch 1, and prints both tables.

    .venv/bin/python inference-rs/scripts/bench_sizes.py [--iters 2000] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import torch

from ash.bench.graph import SIZES, build, torch_latency
from ash.export.exporter import export_model
from ash.export.synthetic import synthetic_bars
from ash.paths import repo_root
from ash.runtime import serve_binary
from ash.runtime_lib import onnxruntime_library


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=None, help="keep the exported models here")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="ash-sizes-"))
    models = {}
    for name, overrides in SIZES.items():
        model, meta = build(repo_root() / "configs" / "default.yaml", overrides)
        path = out / name / "model.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            export_model(model, path, metadata=meta, optimize=False)
        models[name] = (model, path)
    env = dict(os.environ, ORT_DYLIB_PATH=str(onnxruntime_library()))
    cmd = [str(serve_binary()), "bench", *(str(p) for _, p in models.values())]
    cmd += ["--iters", str(args.iters), "--python", sys.executable]
    subprocess.run(cmd, env=env, check=True)
    print("\nPyTorch eager, same modules, 1 thread, batch 1 (ash.bench.graph.torch_latency):\n")
    print("| model | torch eager p50 µs | torch eager p99 µs |\n|---|---:|---:|")
    for name, (model, _) in models.items():
        bars = torch.from_numpy(synthetic_bars(model.ctx.bar_columns, model.window, 1))
        lat = torch_latency(model, bars, warmup=20, iters=max(args.iters // 4, 50))
        print(f"| {name}/model.onnx | {lat['p50_ms'] * 1e3:.1f} | {lat['p99_ms'] * 1e3:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
