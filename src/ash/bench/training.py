"""Training throughput (samples/s) per backbone, against PyTorch eager inference on the same model.

    python -m ash.bench.training [--steps 20] [--batch 256]

Builds the default experiment's model with each backbone on realistic random bars (training speed
does not depend on the data), times optimizer steps (forward + backward + AdamW) and forward-only
inference in the same process, and reports medians over rounds and the train/inference ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from ash.bars.columns import bar_columns
from ash.config import load_experiment
from ash.model import AshModel
from ash.paths import repo_root
from ash.runs import make_model
from ash.testing import make_bars

BACKBONES = ("transformer", "gru", "tcn")
REPO = repo_root()


def _model(backbone: str) -> AshModel:
    resolved = load_experiment(
        REPO / "configs" / "default.yaml", [f"model.backbone={{kind: {backbone}}}"]
    )
    return make_model(resolved, bar_columns())


def _median_rate(step: object, batch: int, steps: int, rounds: int) -> float:
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(steps):
            step()  # type: ignore[operator]
        rates.append(batch * steps / (time.perf_counter() - start))
    return statistics.median(rates)


def measure(backbone: str, batch: int, steps: int, rounds: int) -> dict[str, float | str]:
    model = _model(backbone)
    bars = make_bars(batch, model.window, model.ctx.bar_columns, seed=0).float()
    model.fit_normalization(bars)
    targets = torch.randint(0, model.n_buckets, (batch, len(model.horizons)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def train_step() -> None:
        model.train()
        logits = model.logits(bars)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()

    def infer_step() -> None:
        model.eval()
        with torch.inference_mode():
            model(bars)

    train_step()  # warm-up
    infer_step()
    train = _median_rate(train_step, batch, steps, rounds)
    infer = _median_rate(infer_step, batch, steps, rounds)
    params = sum(p.numel() for p in model.parameters())
    return {
        "backbone": backbone,
        "params": float(params),
        "train": train,
        "infer": infer,
        "ratio": train / infer,
    }


def table(rows: list[dict[str, float | str]], batch: int, threads: int) -> str:
    lines = [
        f"Training throughput, batch {batch}, {threads} torch thread(s), CPU, fp32 "
        "(medians over rounds):",
        "",
        "| backbone | params | train samples/s | eager inference samples/s | train / inference |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['backbone']} | {int(float(r['params'])):,} | {float(r['train']):,.0f} | "
            f"{float(r['infer']):,.0f} | {float(r['ratio']):.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--backbones", nargs="*", default=list(BACKBONES))
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    rows = [measure(b, args.batch, args.steps, args.rounds) for b in args.backbones]
    print(table(rows, args.batch, torch.get_num_threads()))


if __name__ == "__main__":
    main()
