"""Every module and tensor of the training step is on the training device — checked on a CPU.

PyTorch's ``meta`` device stands in for a GPU: meta tensors carry shapes and a device but no
data, and any op that mixes a CPU tensor into meta ones raises "Tensor on device cpu is not on
the expected device meta!", exactly as a CUDA step raises on a forgotten CPU tensor. So the
trainer set up for ``meta`` runs a real optimizer step here, and the audit then finds any
parameter, buffer, plain tensor attribute or optimizer state left behind.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

import ash.train.trainer as trainer_mod
from ash.feature_cache import BarWindows, CachedFeatures
from ash.testing import check_on_device, make_bars
from ash.testing.errors import ConformanceError
from ash.train.device import select_precision
from ash.train.trainer import Trainer
from tests.train.helpers import tiny_experiment

META = torch.device("meta")


def _meta_trainer(
    monkeypatch: pytest.MonkeyPatch, run_dir: Path, **train: object
) -> tuple[Trainer, torch.nn.Module]:
    monkeypatch.setattr(trainer_mod, "select_device", lambda choice: META)
    resolved = tiny_experiment(**train)
    raw = resolved.experiment.model_dump(mode="json")
    raw["model"]["prior"] = {"kind": "ewma_gaussian", "lookback_bars": 30}
    from ash.config.resolve import resolve

    trainer = Trainer(resolve(raw), run_dir, resume=False, progress=False)
    return trainer, trainer.setup()


@pytest.mark.parametrize("feature_cache", [True, False])
def test_a_training_step_keeps_every_tensor_on_the_training_device(
    ash_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, feature_cache: bool
) -> None:
    trainer, net = _meta_trainer(monkeypatch, tmp_path / "run", feature_cache=feature_cache)
    kind = CachedFeatures if feature_cache else BarWindows
    assert isinstance(trainer.source, kind)
    check_on_device([trainer.model, trainer.loss_fn], META)
    batch = torch.as_tensor(trainer.prepared.samples.train[:16], device=META)
    weighted = trainer._optimize(net, batch)  # fails here if the step mixes in a CPU tensor
    assert weighted.device == META
    check_on_device([trainer.model, trainer.loss_fn], META, trainer.optimizer)
    assert all(p.grad is not None for p in trainer.model.head.parameters())


def test_the_audit_names_a_module_left_on_the_cpu(
    ash_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trainer, net = _meta_trainer(monkeypatch, tmp_path / "run")
    # The bug this guards against: a loss built but never moved (its weights buffer on the CPU).
    trainer.loss_fn = trainer_mod.make_loss(trainer.resolved, 3, trainer.model.n_buckets)
    with pytest.raises(ConformanceError, match=r"buffer weights on cpu"):
        check_on_device([trainer.model, trainer.loss_fn], META)
    batch = torch.as_tensor(trainer.prepared.samples.train[:16], device=META)
    with pytest.raises(RuntimeError, match="not on the expected device"):
        trainer._optimize(net, batch)


def test_fit_normalization_accumulates_on_the_windows_device(ash_root: Path) -> None:
    from ash.runs import make_model
    from ash.testing.bars import ALL_COLUMNS

    model = make_model(tiny_experiment(), ALL_COLUMNS).to(META)
    windows = make_bars(4, model.window, ALL_COLUMNS, seed=0).to(META)
    model.fit_normalization(windows)
    check_on_device([model], META)


def test_precision_follows_the_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    cuda = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert select_precision("auto", cuda) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert select_precision("auto", cuda) == torch.float16  # trained with a GradScaler
    assert select_precision("bf16", cuda) == torch.bfloat16
    assert select_precision("fp16", cuda) == torch.float16
    assert select_precision("fp32", cuda) is None
    for choice in ("auto", "bf16", "fp16", "fp32"):
        assert select_precision(choice, torch.device("cpu")) is None


NO_GPU = "no CUDA GPU on this machine (torch.cuda.is_available() is False)"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_GPU)
def test_a_run_trains_on_cuda_in_mixed_precision_and_records_it(
    ash_root: Path, tmp_path: Path
) -> None:
    import json

    from ash.train import run_training

    result = run_training(tiny_experiment(device="cuda"), run_dir=tmp_path / "run", progress=False)
    meta = json.loads((result.run_dir / "meta.json").read_text())
    assert meta["device"].startswith("cuda") and meta["device_name"] != "cuda"
    want = "torch.bfloat16" if torch.cuda.is_bf16_supported() else "torch.float16"
    assert meta["precision"] == want and meta["grad_scaler"] == (want == "torch.float16")
    assert meta["feature_cache"] is True
    rates = [row["samples_per_s"] for row in meta["samples_per_s"]]
    assert len(rates) == len(result.history) and all(r > 0 for r in rates)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_GPU)
def test_fit_normalization_and_the_prior_fit_on_cuda_windows(ash_root: Path) -> None:
    from ash.config.resolve import resolve
    from ash.runs import make_model
    from ash.testing.bars import ALL_COLUMNS

    raw = tiny_experiment().experiment.model_dump(mode="json")
    raw["model"]["prior"] = {"kind": "ewma_gaussian", "lookback_bars": 30}
    model = make_model(resolve(raw), ALL_COLUMNS)
    cpu_windows = make_bars(64, model.window, ALL_COLUMNS, seed=0)
    returns = torch.randn(64, len(model.horizons))
    on_cpu = copy.deepcopy(model)
    on_cpu.fit_normalization(cpu_windows, returns_bps=returns)
    model.cuda().fit_normalization(cpu_windows.cuda(), returns_bps=returns.cuda())
    check_on_device([model], "cuda")
    for name, value in on_cpu.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name].cpu(), value, rtol=1e-4, atol=1e-5)
