"""Parameter count, FLOPs and single-thread ONNX Runtime latency of the transformer backbone.

Run ``python -m ash.bench.components`` (``--help`` for options). Each row is a full contract
model (features → transformer → 8 horizon heads × 101 buckets → softmax, plus edges) exported to
ONNX (opset 17) and timed in ONNX Runtime on CPU with one thread at batch 1. FLOPs are counted by
``torch.utils.flop_counter`` on one forward pass (matrix products; the elementwise feature ops
are not counted). The first row is the reference the ``ratio`` column divides by, measured in the
same run, so the ratios stay meaningful on a noisy shared machine.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from ash.components.backbones import TransformerBackbone
from ash.components.backbones.transformer import TransformerConfig
from ash.components.discretizers import LogReturnDiscretizer
from ash.components.features import OrderFlow, RealizedVol, Returns, TimeOfDay
from ash.model import AshModel, build_model
from ash.onnx_io import cpu_session, export_onnx
from ash.testing import default_context, make_bars

SIZES: tuple[tuple[int, int], ...] = ((128, 2), (128, 3), (128, 4), (192, 2), (256, 2), (256, 4))


@dataclass(frozen=True)
class Row:
    d_model: int
    n_layers: int
    n_heads: int
    backbone_params: int
    total_params: int
    mflops: float
    p50_ms: float
    p99_ms: float


def bench_model(d_model: int, n_layers: int, steps: int) -> AshModel:
    ctx = default_context()
    heads = 4 if d_model < 256 else 8
    return build_model(
        ctx,
        steps,
        [
            (Returns, Returns.Config()),
            (RealizedVol, RealizedVol.Config()),
            (OrderFlow, OrderFlow.Config()),
            (TimeOfDay, TimeOfDay.Config()),
        ],
        (
            TransformerBackbone,
            TransformerConfig(d_model=d_model, n_layers=n_layers, n_heads=heads),
        ),
        (LogReturnDiscretizer, LogReturnDiscretizer.Config()),
    ).eval()


def latency_ms(model: AshModel, runs: int, warmup: int) -> tuple[float, float]:
    bars = make_bars(1, model.window, model.ctx.bar_columns, seed=0)
    graph = export_onnx(model, (bars,), input_names=["bars"], output_names=["probs", "edges"])
    session = cpu_session(graph)
    feed = {"bars": bars.numpy()}
    for _ in range(warmup):
        session.run(None, feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    ms = np.asarray(times) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def measure(d_model: int, n_layers: int, steps: int, runs: int, warmup: int) -> Row:
    torch.manual_seed(0)
    model = bench_model(d_model, n_layers, steps)
    bars = make_bars(1, model.window, model.ctx.bar_columns, seed=0)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(bars)
    p50, p99 = latency_ms(model, runs, warmup)
    backbone = model.backbone
    assert isinstance(backbone, TransformerBackbone)
    return Row(
        d_model,
        n_layers,
        backbone.cfg.n_heads,
        sum(p.numel() for p in backbone.parameters()),
        sum(p.numel() for p in model.parameters()),
        counter.get_total_flops() / 1e6,
        p50,
        p99,
    )


def markdown(rows: list[Row], steps: int) -> str:
    ref = rows[0]
    lines = [
        "| d_model | layers | heads | backbone params | total params | MFLOPs | p50 ms | p99 ms "
        "| p50 / ref |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.d_model} | {r.n_layers} | {r.n_heads} | {r.backbone_params:,} | "
            f"{r.total_params:,} | {r.mflops:.1f} | {r.p50_ms:.3f} | {r.p99_ms:.3f} | "
            f"{r.p50_ms / ref.p50_ms:.2f} |"
        )
    lines.append(
        f"\nsteps={steps} (+1 [CLS]), MLP hidden 4·d, 19 features, 8 horizons × 101 buckets; "
        f"ref = first row, same run."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--steps", type=int, default=64, help="Sequence length fed to the backbone."
    )
    parser.add_argument("--runs", type=int, default=500, help="Timed runs per model.")
    parser.add_argument("--warmup", type=int, default=50, help="Untimed runs first.")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = [measure(d, n, args.steps, args.runs, args.warmup) for d, n in SIZES]
    print(markdown(rows, args.steps))


if __name__ == "__main__":
    main()
