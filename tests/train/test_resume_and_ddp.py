"""Kill-and-resume through the CLI (SIGKILL mid-epoch) and DDP under torchrun (2 gloo ranks)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ash.train import run_training
from tests.train.helpers import REPO, tiny_experiment, write_tiny

ENTRY = REPO / "tests" / "train" / "cli_entry.py"


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["ASH_EXPERIMENTS"] = str(root)
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = str(REPO)
    return env


def _val(run: Path) -> dict[str, float]:
    return json.loads((run / "metrics.json").read_text())["val"]  # type: ignore[no-any-return]


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_gives_the_same_metrics(
    ash_root: Path, tmp_path: Path
) -> None:
    settings = {"epochs": 2, "checkpoint_every_steps": 4}
    config = write_tiny(tmp_path / "tiny.yaml", **settings)
    straight = run_training(tiny_experiment(**settings), run_dir=tmp_path / "a", progress=False)

    run = tmp_path / "b"
    cmd = [sys.executable, str(ENTRY), str(config), "--run-dir", str(run), "--no-evaluate"]
    proc = subprocess.Popen(cmd, env=_env(ash_root), cwd=REPO, stderr=subprocess.PIPE)
    last = run / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 300
    while not last.exists():
        if proc.poll() is not None:
            pytest.fail(f"training ended before its first checkpoint: {proc.stderr.read()!r}")  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    state = torch.load(last, weights_only=True)
    # killed mid-epoch (10 steps per epoch; checkpoints at steps 4 and 8 are inside epoch 0)
    assert state["batch_in_epoch"] > 0 and not (run / "checkpoints" / "model.pt").exists()
    killed_at = (state["epoch"], state["batch_in_epoch"])

    resumed = subprocess.run(
        [sys.executable, str(ENTRY), "--resume", str(run), "--no-evaluate", "--no-progress"],
        env=_env(ash_root),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert _val(run) == pytest.approx(straight.val_metrics, abs=1e-6), f"killed at {killed_at}"


@pytest.mark.slow
def test_torchrun_two_gloo_processes_match_single_process(ash_root: Path, tmp_path: Path) -> None:
    # No dropout: each rank draws its own masks, which a single process cannot reproduce.
    settings = {"epochs": 2, "batch_size": 64}
    config = write_tiny(tmp_path / "tiny.yaml", **settings)
    text = config.read_text().replace("dropout: 0.1", "dropout: 0.0")
    config.write_text(text)
    from ash.config import load_experiment

    single = run_training(load_experiment(config), run_dir=tmp_path / "single", progress=False)
    run = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        "29731",
        str(ENTRY),
        str(config),
        "--run-dir",
        str(run),
        "--no-evaluate",
        "--no-progress",
    ]
    done = subprocess.run(
        cmd, env=_env(ash_root), cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    meta = json.loads((run / "meta.json").read_text())
    assert meta["world_size"] == 2
    ddp_val = _val(run)
    for key in ("nll", "nll_h1", "nll_h5", "nll_h30", "nll_uncalibrated"):
        assert ddp_val[key] == pytest.approx(single.val_metrics[key], rel=1e-4), key
