"""Rust runtime vs bare ONNX Runtime vs Python ONNX Runtime vs PyTorch eager, in one run, with
today's graph beside the graph of the commit before the lean graph (issue 18).

Exports the default experiment's model (prior included) at the three sizes of
``ash.bench.graph`` (untrained: latency depends on the architecture, not the weights), and the
same three models with the code of ``ash.bench.graph.BASELINE_COMMIT`` (the "before" graph,
re-exported from git history every run), runs ``ash-serve bench`` on all six in the same rounds
(every model's share of calls in turn, rotating which goes first, for batch-1 latency and for
batched throughput alike: a burst of load on a shared machine hits "before" and "now" alike, so
their ratio is as robust as the ratio to Python ONNX Runtime on the same window and session
options), then prints, per size: node counts before/after ONNX Runtime's optimisation, FLOPs
per prediction and the latency a single core's measured matmul rate allows (the limit), the
served p50 beside it, the ratio to the before graph, batched throughput now/before, and fp32
parity against PyTorch.

    .venv/bin/python inference-rs/scripts/bench_sizes.py [--iters 3000] [--repeats 3] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import onnx
import torch

from ash.bench.graph import (
    BASELINE_COMMIT,
    SIZES,
    build,
    export_reference,
    flops_per_prediction,
    matmul_rate,
    torch_latency,
)
from ash.export.exporter import export_model
from ash.export.parity import check_parity
from ash.export.synthetic import synthetic_bars
from ash.paths import repo_root
from ash.runtime import bench_rows, serve_binary
from ash.runtime_lib import onnxruntime_library
from ash.testing.graph_size import ort_optimized


def rust_p50(table: str) -> dict[str, float]:
    """Rust ``predict`` p50 (µs) per model label from ``ash-serve bench``'s latency table."""
    return {label: float(row["predict p50 µs"]) for label, row in bench_rows(table).items()}


def versus_python(table: str) -> dict[str, list[str]]:
    """Per model label, the ``rust/python`` cells of ``ash-serve bench``'s latency table (p50 and
    p99: "ratio [low, high] verdict")."""
    return {
        label: [cell for name, cell in row.items() if name.startswith("rust/python")]
        for label, row in bench_rows(table).items()
    }


def print_versus(models: dict[str, tuple[object, Path]], runs: list[dict[str, list[str]]]) -> None:
    """Rust/Python per size, one column per run of fresh processes, and the verdict over runs:
    below (or above) only when every run's interval is below (above) 1."""
    print(
        "\nRust `predict` against Python ONNX Runtime's `InferenceSession.run`, batch 1, 1 thread, "
        f"same window, in {len(runs)} runs of fresh processes (the first is the table above): "
        "drift-normalised ratio [95 % interval]; below/above: beyond the interval, else tie. "
        "Over runs: below (above) when every run is below (above).\n"
    )
    for k, stat in enumerate(("p50", "p99")):
        header = " | ".join(f"run {i + 1}" for i in range(len(runs)))
        print(f"| size, {stat} | {header} | over runs |\n|---|" + "---|" * (len(runs) + 1))
        for name, (_, path) in models.items():
            cells = [run.get(_label(path), ["n/a", "n/a"])[k] for run in runs]
            verdicts = {cell.rsplit(" ", 1)[-1] for cell in cells}
            over = verdicts.pop() if len(verdicts) == 1 and "n/a" not in cells else "tie"
            if "n/a" not in cells:
                worst = max(float(cell.split()[0]) for cell in cells)
                over += f" (largest ratio {worst:.3f})"
            print(f"| {name} | " + " | ".join(cells) + f" | {over} |")
        print()


def throughput(table: str) -> tuple[list[str], dict[str, list[float]]]:
    """Batch sizes and predictions/s per model label from ``ash-serve bench``'s second table."""
    if "batched throughput" not in table:
        return [], {}
    lines = [line for line in table.split("batched throughput")[1].splitlines() if line]
    header = next(line for line in lines if line.startswith("| model"))
    sizes = [c.strip().split()[0] for c in header.strip("|").split("|")[1:]]
    rows = {}
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and not line.startswith("| model") and len(cells) > 1:
            rows[cells[0]] = [float(c) for c in cells[1:]]
    return sizes, rows


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f}/{five:.1f}/{fifteen:.1f}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=3000)
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="fresh Rust and Python processes for the Rust/Python comparison (batch 1 only "
        "after the first): a process's speed is partly fixed for its life",
    )
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
    before = export_reference(out, SIZES)
    env = dict(os.environ, ORT_DYLIB_PATH=str(onnxruntime_library()))
    paths = [p for _, p in models.values()] + [before[n] for n in SIZES]
    cmd = [str(serve_binary()), "bench", *(str(p) for p in paths)]
    cmd += ["--iters", str(args.iters), "--python", sys.executable]
    load_before = load_average()
    table = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    print(table)
    print(
        f"Load average (1/5/15 min) when `ash-serve bench` started: {load_before}; when it "
        f"ended: {load_average()} (2 cores).\n"
    )
    print(
        f"(`<size>-before` rows: the graph of commit {BASELINE_COMMIT[:10]}, before the lean "
        "graph, exported in this run from git history.)\n"
    )
    served = rust_p50(table)
    rate = matmul_rate()
    print(
        f"Where the limit is: one core's ONNX Runtime MatMul rate here is {rate / 1e9:.0f} "
        "GFLOP/s (256³ float32, 1 thread); the limit is FLOPs / that rate.\n"
    )
    print(
        "| size | nodes before: raw / after ORT | nodes now: raw / after ORT | MFLOP per "
        "prediction | limit µs | served p50 µs (Rust) | / limit | before p50 µs | now / before "
        "| parity fp32 max abs Δprobs |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, (model, path) in models.items():
        counts = []
        for graph in (before[name], path):
            proto = onnx.load_model(str(graph))
            counts.append(f"{len(proto.graph.node):,} / {len(ort_optimized(proto).graph.node):,}")
        bars = torch.from_numpy(synthetic_bars(model.ctx.bar_columns, model.window, 1))
        flops = flops_per_prediction(model, bars)
        limit_us = flops / rate * 1e6
        now = served.get(f"{name}/model.onnx", float("nan"))
        then = served.get(_label(before[name]), float("nan"))
        windows = synthetic_bars(model.ctx.bar_columns, model.window, 128, seed=9)
        parity = check_parity(model, path, windows, raise_on_failure=False).max_abs_diff
        print(
            f"| {name} | {counts[0]} | {counts[1]} | {flops / 1e6:.1f} | {limit_us:.1f} | "
            f"{now:.1f} | {now / limit_us:.1f}x | {then:.1f} | {now / then:.2f} | {parity:.1e} |"
        )
    runs = [versus_python(table)]
    repeat_cmd = cmd[:2] + [str(p) for _, p in models.values()]
    repeat_cmd += ["--iters", str(args.iters), "--ticks", "2", "--batches", "1"]
    repeat_cmd += ["--python", sys.executable]
    for _ in range(args.repeats - 1):
        done = subprocess.run(repeat_cmd, env=env, check=True, capture_output=True, text=True)
        runs.append(versus_python(done.stdout))
    print_versus(models, runs)
    sizes, rates = throughput(table)
    if sizes:
        print("\nBatched throughput now / before (same rounds; > 1: now is faster):\n")
        print("| size | " + " | ".join(f"{n} symbols" for n in sizes) + " |")
        print("|---|" + "---:|" * len(sizes))
        for name, (_, path) in models.items():
            now_rates = rates.get(_label(path), [])
            then_rates = rates.get(_label(before[name]), [])
            ratios = [f"{a / b:.2f}" for a, b in zip(now_rates, then_rates, strict=False) if b]
            print(f"| {name} | " + " | ".join(ratios) + " |")
    print("\nPyTorch eager, same modules, 1 thread, batch 1 (ash.bench.graph.torch_latency):\n")
    print("| model | torch eager p50 µs | torch eager p99 µs |\n|---|---:|---:|")
    for name, (model, _) in models.items():
        bars = torch.from_numpy(synthetic_bars(model.ctx.bar_columns, model.window, 1))
        lat = torch_latency(model, bars, warmup=20, iters=max(args.iters // 4, 50))
        print(f"| {name}/model.onnx | {lat['p50_ms'] * 1e3:.1f} | {lat['p99_ms'] * 1e3:.1f} |")
    return 0


def _label(path: Path) -> str:
    """The label ``ash-serve bench`` prints for ``reference/<size>/model.onnx``."""
    return f"{path.parent.name}/{path.name}"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
