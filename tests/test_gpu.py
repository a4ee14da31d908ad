"""The GPU path: bf16 autocast training, the CUDA execution provider in Python and in Rust.

These run only where a CUDA GPU is present and skip with the reason elsewhere. On a CPU-only
machine the Rust runtime must refuse ``--cuda`` loudly instead of falling back to the CPU, and
that part runs everywhere.
"""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from ash.bench.graph import SIZES, build
from ash.export.exporter import export_model
from ash.runtime import build_command
from ash.testing import make_bars
from ash.train.device import select_precision

REPO = Path(__file__).resolve().parents[1]
HAS_CUDA = torch.cuda.is_available()
NO_GPU = "no CUDA GPU on this machine (torch.cuda.is_available() is False)"


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path]:
    model, meta = build(REPO / "configs" / "default.yaml", SIZES["small"])
    path = tmp_path_factory.mktemp("gpu") / "model.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_model(model, path, metadata=meta, optimize=False)
    return model, path


def test_cpu_trains_in_fp32_whatever_is_asked() -> None:
    for choice in ("auto", "bf16", "fp16", "fp32"):
        assert select_precision(choice, torch.device("cpu")) is None


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason=NO_GPU)
def test_bf16_autocast_training_step_on_gpu(small_model: tuple[torch.nn.Module, Path]) -> None:
    model, _ = small_model
    device = torch.device("cuda")
    model = model.to(device).train()
    dtype = select_precision("auto", device)
    assert dtype in (torch.bfloat16, torch.float16)
    bars = make_bars(8, model.window, model.ctx.bar_columns, seed=0).float().to(device)
    with torch.autocast("cuda", dtype=dtype):
        logits = model.logits(bars)
    loss = logits.float().logsumexp(-1).mean()
    loss.backward()  # type: ignore[no-untyped-call]
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason=NO_GPU)
def test_onnxruntime_cuda_provider_matches_cpu(small_model: tuple[torch.nn.Module, Path]) -> None:
    model, path = small_model
    assert "CUDAExecutionProvider" in ort.get_available_providers()
    x = make_bars(16, model.window, model.ctx.bar_columns, seed=1).float().numpy()
    cpu = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    gpu = ort.InferenceSession(str(path), providers=["CUDAExecutionProvider"])
    assert gpu.get_providers()[0] == "CUDAExecutionProvider"
    (p_cpu,) = cpu.run(["probs"], {"bars": x})
    (p_gpu,) = gpu.run(["probs"], {"bars": x})
    assert np.abs(p_cpu - p_gpu).max() <= 1e-4


@pytest.mark.rust
def test_rust_cuda_is_explicit(small_model: tuple[torch.nn.Module, Path]) -> None:
    """With --cuda, ash-serve either runs on the GPU or stops with an explicit error."""
    _, path = small_model
    argv, env = build_command(path, stdin=True, cuda=True, log_every=0)
    result = subprocess.run(
        argv, input='{"type":"stats"}\n', env=env, capture_output=True, text=True, timeout=300
    )
    if HAS_CUDA:
        assert result.returncode == 0, result.stderr
        assert '"type":"stats"' in result.stdout.replace(" ", "")
    else:
        assert result.returncode != 0
        assert "CUDA execution provider could not start" in result.stderr
        assert "refusing to fall back to CPU" in result.stderr


@pytest.mark.skipif(HAS_CUDA, reason="checks the script's no-GPU path")
def test_gpu_check_script_says_no_gpu_and_exits_2_on_a_cpu_machine() -> None:
    """Installed or not (the script puts src/ on PYTHONPATH), no GPU is never reported as a pass."""
    import os
    import sys

    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu_check.sh")],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "NO CUDA GPU is visible to PyTorch" in result.stdout
    assert f"ash from {REPO / 'src' / 'ash'}" in result.stdout
