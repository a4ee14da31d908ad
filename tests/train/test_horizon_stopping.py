"""Per-horizon early stopping (``train.early_stopping: per_horizon``): the bookkeeping on a real
model's head rows, and a tiny run end to end (including an interrupted one that resumes)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ash import runs
from ash.train import run_training
from ash.train.horizon_stopping import HorizonStopping, horizon_rows
from tests.components.test_prior import CTX, prior_model
from tests.train.helpers import tiny_experiment


def vals(*nll: float) -> dict[str, float]:
    out = {f"nll_h{s:g}": v for s, v in zip(CTX.horizons, nll, strict=True)}
    out["nll"] = sum(nll) / len(nll)
    return out


def blocks(model: torch.nn.Module, h: int) -> list[torch.Tensor]:
    n = len(CTX.horizons)
    return [r.param.detach()[r.block(h, n)].clone() for r in horizon_rows(model)]  # type: ignore[arg-type]


def perturb(model: torch.nn.Module) -> None:
    with torch.no_grad():
        for r in horizon_rows(model):  # type: ignore[arg-type]
            r.param.add_(torch.randn_like(r.param))


def test_head_rows_are_the_last_layer_and_per_horizon_prior_parameters() -> None:
    model = prior_model(point_mass="zero_fraction")
    names = {r.name for r in horizon_rows(model)}
    assert names == {"head.1.weight", "head.1.bias", "prior.log_scale", "prior.point_param"}


def test_a_horizon_that_stops_improving_is_frozen_at_its_best_rows() -> None:
    model = prior_model()
    n = len(CTX.horizons)
    stopping = HorizonStopping(model, CTX.horizons, patience=2)
    assert stopping.update(1, vals(*[2.0] * n)) == []
    best_rows = blocks(model, n - 1)
    perturb(model)  # epoch 2: the last horizon gets worse, the others better
    assert stopping.update(2, vals(*[1.9] * (n - 1), 2.1)) == []  # patience 2: not yet
    perturb(model)
    frozen = stopping.update(3, vals(*[1.8] * (n - 1), 2.2))
    assert frozen == [CTX.horizons[-1]]
    assert stopping.active == [True] * (n - 1) + [False]
    mask = stopping.loss_mask(torch.device("cpu"))
    assert mask.tolist() == [True] * (n - 1) + [False]
    for now, best in zip(blocks(model, n - 1), best_rows, strict=True):
        assert torch.equal(now, best)  # back to epoch 1's rows ...
    perturb(model)  # ... and pinned there after an optimizer step moved them
    stopping.pin()
    for now, best in zip(blocks(model, n - 1), best_rows, strict=True):
        assert torch.equal(now, best)
    # an active horizon's rows are not touched by pin()
    active_rows = blocks(model, 0)
    stopping.pin()
    assert all(torch.equal(a, b) for a, b in zip(blocks(model, 0), active_rows, strict=True))
    assert stopping.summary()[f"best_epoch_h{CTX.horizons[-1]:g}"] == 1.0
    assert stopping.summary()[f"best_epoch_h{CTX.horizons[0]:g}"] == 3.0
    assert not stopping.done


def test_composite_state_and_restore_hold_every_horizons_best_rows() -> None:
    model = prior_model()
    n = len(CTX.horizons)
    stopping = HorizonStopping(model, CTX.horizons, patience=5)
    stopping.update(1, vals(*[2.0] * n))
    first = blocks(model, 0)
    perturb(model)
    stopping.update(2, vals(*[2.1] * n))  # worse everywhere: still active (patience 5)
    composite = stopping.composite_state(model)
    saved = {r.name: composite[r.name] for r in horizon_rows(model)}
    for r, best in zip(horizon_rows(model), first, strict=True):
        assert torch.equal(saved[r.name][r.block(0, n)], best)
    copy = HorizonStopping(model, CTX.horizons, patience=5)
    copy.load_state_dict(stopping.state_dict())
    copy.restore()
    assert all(torch.equal(a, b) for a, b in zip(blocks(model, 0), first, strict=True))


def test_every_horizon_frozen_stops_the_run() -> None:
    model = prior_model()
    n = len(CTX.horizons)
    stopping = HorizonStopping(model, CTX.horizons, patience=1)
    stopping.update(1, vals(*[2.0] * n))
    assert sorted(stopping.update(2, vals(*[2.5] * n))) == sorted(CTX.horizons)
    assert stopping.done


@pytest.mark.parametrize("interrupt", [False, True])
def test_per_horizon_run_end_to_end(ash_root: Path, tmp_path: Path, interrupt: bool) -> None:
    resolved = tiny_experiment(epochs=3, early_stopping="per_horizon", patience=1)
    straight = run_training(resolved, run_dir=tmp_path / "straight", progress=False)
    epochs = {h: straight.val_metrics[f"best_epoch_h{h}"] for h in (1, 5, 30)}
    assert all(1 <= e <= 3 for e in epochs.values())
    for row in straight.history:
        assert set(row["frozen_horizons"]) <= {1.0, 5.0, 30.0}
    assert straight.val_metrics["best_epoch"] == max(epochs.values())
    model, _ = runs.load_model(straight.run_dir)
    assert torch.equal(model.head[-1].weight, straight.model.head[-1].weight)  # type: ignore[index]
    if not interrupt:
        return

    class StopError(Exception):
        pass

    def stop_after_first(epoch: int, val: dict[str, float]) -> None:
        if epoch == 0:
            raise StopError

    with pytest.raises(StopError):
        run_training(resolved, run_dir=tmp_path / "cut", on_epoch=stop_after_first, progress=False)
    resumed = run_training(resolved, run_dir=tmp_path / "cut", resume=True, progress=False)
    assert resumed.val_metrics == pytest.approx(straight.val_metrics, abs=1e-9)
