"""Training throughput: the real trainer against a bare PyTorch loop over the same backbone.

    python -m ash.bench.training [--steps 10] [--rounds 3] [--devices cpu cuda]

For each model the trainer is set up exactly as ``ash train`` sets it up (a small synthetic data
set, fitted normalization and prior, the configured loss, AdamW, warm-up/cosine schedule,
gradient clipping, autocast on GPU) and its real optimizer steps are timed: batch gather,
features, discretizer edges, prior, targets and masks, loss, backward, clipping, optimizer and
scheduler. The reference, in the same process on the same device and precision, is a bare loop:
the same backbone class and config plus a linear head, fed a precomputed random feature tensor of
the same shape ``[B, steps, F]``, cross-entropy, AdamW. Rounds interleave the loops (a busy machine
slows them alike); ``trainer / bare`` is the median of per-round ratios, min–max in brackets.
The per-window column is the trainer with ``train.feature_cache: false`` (every window
recomputes its features: the path before the cache).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ash.config import load_experiment
from ash.paths import repo_root
from ash.train.trainer import Trainer

REPO = repo_root()
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


def _rate(step: Callable[[], None], batch: int, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - start)


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
    resolved = load_experiment(REPO / "configs" / "default.yaml", overrides)
    return Trainer(resolved, run_dir, False, False)


def trainer_step(trainer: Trainer, batch: int) -> Callable[[], None]:
    """One real optimizer step of ``trainer`` on a random batch of training windows."""
    net = trainer.setup()
    ends = torch.as_tensor(trainer.prepared.samples.train, device=trainer.device)
    g = torch.Generator().manual_seed(0)

    def step() -> None:
        trainer.model.train()
        pick = torch.randint(len(ends), (batch,), generator=g).to(trainer.device)
        trainer._train_step(net, ends[pick])

    return step


def bare_step(trainer: Trainer, batch: int) -> Callable[[], None]:
    """The same backbone class and config plus a linear head on random features, plain AdamW."""
    model, device = trainer.model, trainer.device
    assert model.backbone is not None, "the training benchmark times the neural family"
    backbone = type(model.backbone)(model.backbone.config, model.n_features, model.steps)
    n_out = len(model.horizons) * model.n_buckets
    net = nn.Sequential(backbone, nn.Linear(backbone.out_dim, n_out)).to(device).train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    pool = [torch.randn(batch, model.steps, model.n_features, generator=g) for _ in range(4)]
    features = [x.to(device) for x in pool]
    targets = torch.randint(0, model.n_buckets, (batch * len(model.horizons),), generator=g)
    targets = targets.to(device)
    turn = [0]

    def step() -> None:
        x = features[turn[0] % len(features)]
        turn[0] += 1
        with trainer.autocast():
            logits = net(x).view(-1, model.n_buckets)
        loss = nn.functional.cross_entropy(logits.float(), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        float(loss.detach())  # the trainer reads each step's loss too

    return step


def measure(case: Case, device: str, steps: int, rounds: int) -> dict[str, float | str]:
    """Rounds interleave the three loops, so a busy machine slows them alike."""
    with tempfile.TemporaryDirectory() as tmp:
        cached = _trainer(case, device, Path(tmp) / "cached", feature_cache=True)
        per_window = _trainer(case, device, Path(tmp) / "per_window", feature_cache=False)
        loops = {
            "trainer": trainer_step(cached, case.batch),
            "per_window": trainer_step(per_window, case.batch),
            "bare": bare_step(cached, case.batch),
        }
        for step in loops.values():
            for _ in range(3):  # warm-up: allocator, kernels, autotuning
                step()
        rates: dict[str, list[float]] = {name: [] for name in loops}
        for _ in range(rounds):
            for name, step in loops.items():
                rates[name].append(_rate(step, case.batch, steps))
    ratios = [t / b for t, b in zip(rates["trainer"], rates["bare"], strict=True)]
    return {
        "model": case.label,
        "device": device if device == "cpu" else torch.cuda.get_device_name(),
        "precision": str(cached.amp_dtype or "fp32").replace("torch.", ""),
        "window": float(cached.model.window),
        **{name: statistics.median(r) for name, r in rates.items()},
        "ratio": statistics.median(ratios),
        "ratio_lo": min(ratios),
        "ratio_hi": max(ratios),
    }


def table(rows: list[dict[str, float | str]]) -> str:
    lines = [
        "| model (steps, d_model, layers, MLP) | device | precision | window | trainer, "
        "per-window features | trainer samples/s | bare loop samples/s | trainer / bare |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['device']} | {r['precision']} | {int(float(r['window']))} | "
            f"{float(r['per_window']):,.0f} | {float(r['trainer']):,.0f} | "
            f"{float(r['bare']):,.0f} | {float(r['ratio']):.2f} "
            f"({float(r['ratio_lo']):.2f}–{float(r['ratio_hi']):.2f}) |"
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
    print(
        f"Training samples/s, medians over {args.rounds} interleaved rounds of {args.steps} "
        "steps (trainer / bare: median per-round ratio, min–max in brackets); CPU rows "
        f"with {CPU_THREADS} torch threads; trainer = the real training step "
        "(gather, features, prior, loss, masks, clipping, AdamW, schedule), bare = the same "
        "backbone + linear head on precomputed random features, same device and precision:\n"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
