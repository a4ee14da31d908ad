"""Training throughput: the real trainer against a bare PyTorch loop over the same backbone.

    python -m ash.bench.training [--steps 10] [--rounds 3] [--devices cpu cuda]

For each model the trainer is set up exactly as ``ash train`` sets it up (a small synthetic data
set, fitted normalization and prior, the configured loss, AdamW, warm-up/cosine schedule,
gradient clipping, autocast on GPU) and its real optimizer steps are timed: batch gather,
features, discretizer edges, prior, targets and masks, loss, backward, clipping, optimizer and
scheduler. The reference, in the same process on the same device and precision, is a bare loop:
the same backbone class and config plus a linear head, fed a precomputed random feature tensor of
the same shape ``[B, steps, F]``, cross-entropy, AdamW. ``trainer / bare`` is the ratio of
medians over rounds; the per-window column is the trainer with ``train.feature_cache: false``
(every window recomputes its features, the path before the cache).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ash.config import load_experiment
from ash.train.trainer import Trainer

REPO = Path(__file__).resolve().parents[3]
CPU_THREADS = 2


@dataclass(frozen=True)
class Case:
    label: str
    overrides: tuple[str, ...]
    batch: int
    devices: tuple[str, ...]


DEFAULT = "default (32, 64, 2, 256)"
CASES = (
    Case(DEFAULT, (), 256, ("cpu", "cuda")),
    Case("default, batch 2048", (), 2048, ("cuda",)),
    Case(
        "seed default (300, 128, 2, 512)",
        ("model.steps=300", "model.backbone={kind: transformer, d_model: 128, n_layers: 2}"),
        256,
        ("cuda",),
    ),
    Case(
        "seed largest (300, 256, 4, 1024)",
        (
            "model.steps=300",
            "model.backbone={kind: transformer, d_model: 256, n_layers: 4, n_heads: 8, "
            "mlp_hidden: 1024}",
        ),
        256,
        ("cuda",),
    ),
)


def _median_rate(step: Callable[[], None], batch: int, steps: int, rounds: int) -> float:
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(batch * steps / (time.perf_counter() - start))
    return statistics.median(rates)


def _trainer(case: Case, device: str, run_dir: Path, feature_cache: bool) -> Trainer:
    overrides = [
        "data.source={kind: synthetic, n_days: 2}",
        f"train.device={device}",
        f"train.batch_size={case.batch}",
        f"train.feature_cache={str(feature_cache).lower()}",
        *case.overrides,
    ]
    if device == "cpu":
        overrides.append(f"train.threads={CPU_THREADS}")
    return Trainer(
        load_experiment(REPO / "configs" / "default.yaml", overrides), run_dir, False, False
    )


def trainer_rate(
    case: Case, device: str, steps: int, rounds: int, feature_cache: bool
) -> tuple[float, Trainer]:
    with tempfile.TemporaryDirectory() as tmp:
        trainer = _trainer(case, device, Path(tmp) / "run", feature_cache)
        net = trainer.setup()
        ends = torch.as_tensor(trainer.prepared.samples.train, device=trainer.device)
        g = torch.Generator().manual_seed(0)

        def step() -> None:
            trainer.model.train()
            pick = torch.randint(len(ends), (case.batch,), generator=g).to(trainer.device)
            trainer._train_step(net, ends[pick])

        for _ in range(3):
            step()
        return _median_rate(step, case.batch, steps, rounds), trainer


def bare_rate(trainer: Trainer, batch: int, steps: int, rounds: int) -> float:
    """The same backbone class and config plus a linear head on random features, plain AdamW."""
    model, device = trainer.model, trainer.device
    backbone = type(model.backbone)(model.backbone.config, model.n_features, model.steps)
    n_out = len(model.horizons) * model.n_buckets
    net = nn.Sequential(backbone, nn.Linear(backbone.out_dim, n_out)).to(device).train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    pool = [torch.randn(batch, model.steps, model.n_features, generator=g) for _ in range(4)]
    features = [x.to(device) for x in pool]
    targets = [torch.randint(0, model.n_buckets, (batch * len(model.horizons),)).to(device)]
    turn = [0]

    def step() -> None:
        x = features[turn[0] % len(features)]
        turn[0] += 1
        with trainer.autocast():
            logits = net(x).view(-1, model.n_buckets)
        loss = nn.functional.cross_entropy(logits.float(), targets[0])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        float(loss.detach())  # the trainer reads each step's loss too

    for _ in range(3):
        step()
    return _median_rate(step, batch, steps, rounds)


def measure(case: Case, device: str, steps: int, rounds: int) -> dict[str, float | str]:
    cached, trainer = trainer_rate(case, device, steps, rounds, feature_cache=True)
    bare = bare_rate(trainer, case.batch, steps, rounds)
    per_window, _ = trainer_rate(case, device, steps, rounds, feature_cache=False)
    return {
        "model": case.label,
        "device": device if device == "cpu" else torch.cuda.get_device_name(),
        "precision": str(trainer.amp_dtype or "fp32").replace("torch.", ""),
        "window": float(trainer.model.window),
        "per_window": per_window,
        "trainer": cached,
        "bare": bare,
    }


def table(rows: list[dict[str, float | str]]) -> str:
    lines = [
        "| model (steps, d_model, layers, MLP) | device | precision | window | trainer, "
        "per-window features | trainer samples/s | bare loop samples/s | trainer / bare |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        trainer, bare = float(r["trainer"]), float(r["bare"])
        lines.append(
            f"| {r['model']} | {r['device']} | {r['precision']} | {int(float(r['window']))} | "
            f"{float(r['per_window']):,.0f} | {trainer:,.0f} | {bare:,.0f} | {trainer / bare:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=10, help="optimizer steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--devices", nargs="*", default=["cpu", "cuda"])
    parser.add_argument("--only", nargs="*", default=None, help="case labels to run")
    args = parser.parse_args(argv)
    devices = [d for d in args.devices if d != "cuda" or torch.cuda.is_available()]
    if "cuda" in args.devices and "cuda" not in devices:
        print("(no CUDA GPU visible: CPU rows only)\n")
    rows = []
    for device in devices:
        for case in CASES:
            if device in case.devices and (args.only is None or case.label in args.only):
                rows.append(measure(case, device, args.steps, args.rounds))
    np.set_printoptions(precision=3)
    print(
        f"Training samples/s, medians over {args.rounds} rounds of {args.steps} steps; CPU rows "
        f"with {CPU_THREADS} torch threads; trainer = the real training step "
        "(gather, features, prior, loss, masks, clipping, AdamW, schedule), bare = the same "
        "backbone + linear head on precomputed random features, same device and precision:\n"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
