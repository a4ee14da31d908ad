"""Latency and parity of exported models per size: ``python -m ash.bench.graph [--iters N]``.

For the default experiment's model at three sizes it exports ``model.onnx`` (+ ``model.ort.onnx``
and ``model.fp16.onnx``) and measures, in the same run and interleaved (rounds of each variant in
turn; medians over rounds), single-thread batch-1 latency of:

- ``raw``: the exporter's graph without constant folding, ONNX Runtime optimisations disabled
  (before any graph optimisation);
- ``onnx``: ``model.onnx`` (constant-folded) with ONNX Runtime's default online optimisation;
- ``ort``: ``model.ort.onnx`` (offline extended optimisation) loaded the same way;
- ``torch``: PyTorch eager, one thread, the reference.

and the parity of fp32 (and fp16) ONNX Runtime outputs against PyTorch on 128 windows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnx
import torch
import yaml
from torch import nn

from ash.bars.columns import BAR_COLUMNS_VERSION, CORE_COLUMNS
from ash.config.schema import PriorConfig
from ash.export.contract import FP16_PARITY_TOLERANCE, INPUT_NAME, OUTPUT_NAMES
from ash.export.exporter import contract_metadata, export_model, set_metadata
from ash.export.latency import measure_latency
from ash.export.optimize import optimize_offline, variant_path
from ash.export.parity import check_parity
from ash.export.synthetic import synthetic_bars
from ash.interfaces import ModelContext
from ash.model import build_model
from ash.onnx_io import cpu_session, export_onnx
from ash.registry import get_registry

DEFAULT_CONFIG = Path("configs/default.yaml")
SIZES: dict[str, dict[str, Any]] = {
    "small": {"d_model": 32, "n_layers": 1, "n_heads": 2},
    "default": {},
    "large": {"d_model": 256, "n_layers": 4, "n_heads": 8},
}


def build(config: Path, backbone_overrides: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The default experiment's untrained model (components from the registry, its prior
    included) and metadata.

    Reads the ``model``, ``bars`` and ``horizons`` blocks of the YAML directly, so the benchmark
    does not depend on the experiment's data source being installed.
    """
    registry = get_registry()
    raw = yaml.safe_load(config.read_text())
    spec = raw["model"]

    def component(kind: Any, block: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
        params = {k: v for k, v in block.items() if k != "kind"}
        cls = registry.get(kind, block["kind"])
        return cls, cls.Config(**{**params, **(extra or {})})

    bars = raw.get("bars", {})
    model = build_model(
        ModelContext(
            CORE_COLUMNS, float(bars.get("seconds", 1.0)), tuple(float(h) for h in raw["horizons"])
        ),
        int(spec.get("steps", 64)),
        [component("feature_builder", f) for f in spec["features"]],
        component("backbone", spec["backbone"], backbone_overrides),
        component("discretizer", spec["discretizer"]),
        prior=PriorConfig(**spec.get("prior", {})),
        reference=bars.get("reference", "mid"),
    )
    meta = {
        "ash.bar_columns_version": BAR_COLUMNS_VERSION,
        "ash.reference_price": bars.get("reference", "mid"),
        "ash.timezone": bars.get("timezone", "America/New_York"),
        "ash.gap_seconds": float(bars.get("gap_seconds", 300.0)),
        "ash.gap_policy": bars.get("gap_policy", "reset"),
        "ash.experiment": raw.get("name", config.stem),
    }
    return model.eval(), meta


BASELINE_COMMIT = "84b6cf00cef4ae6363263a1323f5a31dcba74f98"
"""The commit before the lean graph (issue 18): its exported graph is the runtime benchmark's
"today" reference, re-exported in every run (model files are not committed)."""

_REFERENCE_EXPORT = r"""
import json, sys, warnings
from pathlib import Path
import yaml
from ash.bars.columns import BAR_COLUMNS_VERSION, CORE_COLUMNS
from ash.config.schema import PriorConfig
from ash.export.exporter import export_model
from ash.interfaces import ModelContext
from ash.model import build_model
from ash.registry import get_registry
config, out, sizes = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
raw = yaml.safe_load(config.read_text())
spec, bars = raw["model"], raw.get("bars", {})
registry = get_registry()
def component(kind, block, extra=None):
    cls = registry.get(kind, block["kind"])
    return cls, cls.Config(**{**{k: v for k, v in block.items() if k != "kind"}, **(extra or {})})
meta = {"ash.bar_columns_version": BAR_COLUMNS_VERSION, "ash.reference_price": "mid",
        "ash.timezone": "America/New_York", "ash.gap_seconds": 300.0, "ash.gap_policy": "reset",
        "ash.experiment": raw.get("name", "default")}
for name, overrides in sizes.items():
    model = build_model(
        ModelContext(CORE_COLUMNS, float(bars.get("seconds", 1.0)),
                     tuple(float(h) for h in raw["horizons"])),
        int(spec.get("steps", 64)),
        [component("feature_builder", f) for f in spec["features"]],
        component("backbone", spec["backbone"], overrides),
        component("discretizer", spec["discretizer"]),
        prior=PriorConfig(**spec.get("prior", {})),
        reference=bars.get("reference", "mid"),
    ).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_model(model, out / f"{name}-before" / "model.onnx", metadata=meta, optimize=False)
"""


def export_reference(
    folder: Path, sizes: dict[str, dict[str, Any]], commit: str = BASELINE_COMMIT
) -> dict[str, Path]:
    """Export the default experiment's model at ``sizes`` with the code of ``commit`` (``git
    archive`` of its ``src`` into a temporary folder, a subprocess on that ``PYTHONPATH``), for
    a side-by-side benchmark against today's graph. Fails with a clear message without git."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[3]
    source = folder / "reference-src"
    source.mkdir(parents=True, exist_ok=True)
    try:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", commit, "src"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise RuntimeError(
            f"cannot export the reference graph of commit {commit[:10]}: this benchmark needs "
            f"the git history of {repo} (a clone, not an archive) and git on PATH "
            f"({type(exc).__name__}: {detail.decode(errors='replace').strip() or exc})"
        ) from exc
    out = folder / "reference"
    env = {"PYTHONPATH": str(source / "src"), "PATH": os.environ.get("PATH", "")}
    subprocess.run(
        [sys.executable, "-c", _REFERENCE_EXPORT, str(DEFAULT_CONFIG), str(out), json.dumps(sizes)],
        check=True,
        cwd=repo,
        env={**os.environ, **env},
    )
    return {name: out / f"{name}-before" / "model.onnx" for name in sizes}


def flops_per_prediction(model: nn.Module, bars: torch.Tensor) -> int:
    """Floating-point operations of one forward pass at batch 1, as ``torch.utils.flop_counter``
    counts them (matrix products and attention; elementwise feature arithmetic is not counted,
    and is a small share of these models)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(bars[:1])
    return int(counter.get_total_flops())


def matmul_rate(size: int = 256, repeats: int = 200) -> float:
    """Single-thread ONNX Runtime ``MatMul`` throughput (FLOP/s) on ``size``³ float32 products:
    the arithmetic rate one core reaches here, which bounds how fast a model can run."""
    import numpy as np
    import onnx.helper as oh

    x = oh.make_tensor_value_info("a", onnx.TensorProto.FLOAT, [size, size])
    y = oh.make_tensor_value_info("c", onnx.TensorProto.FLOAT, [size, size])
    graph = oh.make_graph([oh.make_node("MatMul", ["a", "a"], ["c"])], "matmul", [x], [y])
    proto = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)], ir_version=8)
    session = cpu_session(proto.SerializeToString(), threads=1)
    a = np.random.default_rng(0).standard_normal((size, size)).astype(np.float32)
    for _ in range(10):
        session.run(None, {"a": a})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, {"a": a})
        times.append(time.perf_counter() - start)
    return 2.0 * size**3 / statistics.median(times)


def write_raw(model: nn.Module, meta: dict[str, Any], path: Path) -> Path:
    """The exporter's graph before any optimisation (no constant folding)."""
    full = contract_metadata(model, meta)
    bars = torch.from_numpy(synthetic_bars(full["ash.bar_columns"], full["ash.window"], 2))
    graph = export_onnx(
        model,
        (bars,),
        input_names=[INPUT_NAME],
        output_names=OUTPUT_NAMES,
        constant_folding=False,
    )
    proto = onnx.load_model_from_string(graph)
    set_metadata(proto, full)
    onnx.save_model(proto, str(path))
    return path


def torch_latency(
    model: nn.Module, bars: torch.Tensor, warmup: int, iters: int
) -> dict[str, float]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            for _ in range(warmup):
                model(bars)
            times = []
            for _ in range(iters):
                start = time.perf_counter_ns()
                model(bars)
                times.append((time.perf_counter_ns() - start) / 1e6)
    finally:
        torch.set_num_threads(threads)
    times.sort()
    return {
        "p50_ms": times[len(times) // 2],
        "p99_ms": times[min(len(times) - 1, int(0.99 * len(times)))],
    }


def bench_size(
    name: str, overrides: dict[str, Any], folder: Path, iters: int, rounds: int
) -> dict[str, Any]:
    model, meta = build(DEFAULT_CONFIG, overrides)
    path = folder / name / "model.onnx"
    export_model(model, path, metadata=meta, optimize=False, fp16=True)
    ort_path = optimize_offline(path, variant_path(path, "ort"))
    raw = write_raw(model, meta, folder / name / "model.raw.onnx")
    bars = torch.from_numpy(synthetic_bars(model.ctx.bar_columns, model.window, 1))
    probes: dict[str, Callable[[], dict[str, float]]] = {
        "raw": lambda: measure_latency(raw, warmup=20, iters=iters, optimization="disabled"),
        "onnx": lambda: measure_latency(path, warmup=20, iters=iters),
        "ort": lambda: measure_latency(ort_path, warmup=20, iters=iters),
        "torch": lambda: torch_latency(model, bars, 20, iters),
    }
    samples: dict[str, list[dict[str, float]]] = {k: [] for k in probes}
    for _ in range(rounds):
        for key, probe in probes.items():
            samples[key].append(probe())
    latency = {
        key: {stat: statistics.median(s[stat] for s in runs) for stat in ("p50_ms", "p99_ms")}
        for key, runs in samples.items()
    }
    windows = synthetic_bars(model.ctx.bar_columns, model.window, 128, seed=9)
    fp32 = check_parity(model, path, windows, raise_on_failure=False)
    fp16 = check_parity(
        model,
        variant_path(path, "fp16"),
        windows,
        tolerance=FP16_PARITY_TOLERANCE,
        raise_on_failure=False,
    )
    params = sum(p.numel() for p in model.parameters())
    return {
        "size": name,
        "params": params,
        "window": model.window,
        "latency": latency,
        "parity_fp32": fp32.max_abs_diff,
        "parity_fp16": fp16.max_abs_diff,
        "parity_fp32_per_h": [h.max_abs_diff for h in fp32.horizons],
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| size | params | window | raw graph, no ORT opt. p50/p99 ms | model.onnx p50/p99 ms | "
        "model.ort.onnx p50/p99 ms | PyTorch eager p50/p99 ms | onnx/raw p50 | ort/onnx p50 | "
        "parity fp32 max abs Δprobs | fp16 |"
    )
    lines = [head, "|" + "|".join(["---"] * 11) + "|"]
    for r in rows:
        lat = r["latency"]

        def cell(k: str, lat: dict[str, dict[str, float]] = lat) -> str:
            return f"{lat[k]['p50_ms']:.3f} / {lat[k]['p99_ms']:.3f}"

        lines.append(
            f"| {r['size']} | {r['params']:,} | {r['window']} | {cell('raw')} | {cell('onnx')} | "
            f"{cell('ort')} | {cell('torch')} | "
            f"{lat['onnx']['p50_ms'] / lat['raw']['p50_ms']:.2f} | "
            f"{lat['ort']['p50_ms'] / lat['onnx']['p50_ms']:.2f} | {r['parity_fp32']:.1e} | "
            f"{r['parity_fp16']:.1e} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", nargs="*", default=list(SIZES))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [bench_size(s, SIZES[s], Path(tmp), args.iters, args.rounds) for s in args.sizes]
    print(table(rows))
    for r in rows:
        per_h = ", ".join(f"{d:.1e}" for d in r["parity_fp32_per_h"])
        print(f"{r['size']}: fp32 parity per horizon: {per_h}")


if __name__ == "__main__":
    main()
