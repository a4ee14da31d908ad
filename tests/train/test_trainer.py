"""The trainer end to end on a tiny synthetic experiment: run folder, report, resume, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ash import runs
from ash.checkpoint import CheckpointError
from ash.evaluate import evaluate_run
from ash.train import run_training
from tests.train.helpers import tiny_experiment


class PrunedError(Exception):
    pass


def test_end_to_end_run_folder_with_report_and_plots(ash_root: Path, tmp_path: Path) -> None:
    resolved = tiny_experiment()
    result = run_training(resolved, run_dir=tmp_path / "run", progress=False)
    run = result.run_dir
    assert {"nll", "nll_h1", "nll_h5", "nll_h30"} <= set(result.val_metrics)
    assert len(result.history) == 2
    for name in ("config.yaml", "plugins.json", "meta.json", "metrics.json", "history.csv"):
        assert (run / name).is_file(), name
    meta = json.loads((run / "meta.json").read_text())
    assert len(meta["data_fingerprint"]) == 20
    for name in ("last.pt", "best.pt", "model.pt"):
        state = torch.load(run / "checkpoints" / name, weights_only=True)
        assert "model" in state
    # the returned model is the calibrated one that was saved
    model, _ = runs.load_model(run)
    assert torch.equal(model.temperature, result.model.temperature)

    out = evaluate_run(run)
    ev = out["evaluation"]
    assert set(ev["test"]["forecasters"]) == {
        "model",
        "model_uncalibrated",
        "climatology",
        "ewma_gaussian",
        "ewma_gaussian_lattice",
        "oracle",
    }
    assert set(ev["test"]["gap_closed"]) == {"h1", "h5", "h30"}
    # the oracle (Monte Carlo) scores a strided subset; the gap uses the same subset for all
    scored = ev["test"]["forecasters"]
    assert scored["oracle"]["h1"]["n"] <= 150 < scored["model"]["h1"]["n"]
    assert ev["test"]["oracle_subset"]["h1"]["n"] == scored["oracle"]["h1"]["n"]
    assert ev["test"]["oracle_target_agreement"] == 1.0  # the oracle sees our very targets
    extra = ev["test"]["model_extra"]["h1"]
    for baseline in ("climatology", "ewma_gaussian", "ewma_gaussian_lattice"):
        assert extra[f"nll_minus_{baseline}"] == pytest.approx(
            scored["model"]["h1"]["nll"] - scored[baseline]["h1"]["nll"], abs=1e-9
        )
        assert extra[f"nll_minus_{baseline}_se"] > 0
    report = (run / "report.md").read_text()
    assert "## Verdict (test)" in report
    assert "## Calibration" in report
    for png in ("reliability_test", "pit_test", "nll_by_horizon", "fan_chart", "loss_curve"):
        assert (run / "plots" / f"{png}.png").stat().st_size > 1000, png
    # metrics["val"] stays the flat dict the exporter reads
    assert isinstance(out["val"]["nll"], float)


def test_on_epoch_exception_leaves_a_resumable_run_with_the_same_result(
    ash_root: Path, tmp_path: Path
) -> None:
    resolved = tiny_experiment(epochs=3, max_val_samples=200)
    straight = run_training(resolved, run_dir=tmp_path / "straight", progress=False)

    def stop_after_first(epoch: int, val: dict[str, float]) -> None:
        assert "nll" in val and "nll_h5" in val
        if epoch == 0:
            raise PrunedError

    with pytest.raises(PrunedError):
        run_training(
            resolved, run_dir=tmp_path / "pruned", on_epoch=stop_after_first, progress=False
        )
    resumed = run_training(resolved, run_dir=tmp_path / "pruned", resume=True, progress=False)
    meta = json.loads((tmp_path / "pruned" / "meta.json").read_text())
    assert meta["val_samples_in_training"] == 200 < meta["samples"]["val"]
    assert resumed.val_metrics == pytest.approx(straight.val_metrics, abs=1e-9)
    assert [h["val_nll"] for h in resumed.history] == pytest.approx(
        [h["val_nll"] for h in straight.history], abs=1e-9
    )


def test_resume_without_a_checkpoint_is_a_precise_error(ash_root: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"cannot resume: .*last\.pt does not exist"):
        run_training(tiny_experiment(), run_dir=tmp_path, resume=True, progress=False)


def test_resume_with_different_data_is_refused(ash_root: Path, tmp_path: Path) -> None:
    resolved = tiny_experiment(epochs=1)
    run_training(resolved, run_dir=tmp_path / "r", progress=False)
    other = tiny_experiment(epochs=1)
    raw = other.to_dict()
    raw["data"]["source"]["seed"] = 11
    from ash.config.resolve import resolve

    with pytest.raises(CheckpointError, match="was trained on data"):
        run_training(resolve(raw), run_dir=tmp_path / "r", resume=True, progress=False)


def test_a_prior_model_trains_calibrates_its_residual_and_reloads(
    ash_root: Path, tmp_path: Path
) -> None:
    import yaml

    from ash.config.resolve import resolve
    from tests.train.helpers import TINY, ensure_synthetic_registered

    ensure_synthetic_registered()
    raw = yaml.safe_load(yaml.safe_dump(TINY))
    raw["model"]["prior"] = {"kind": "ewma_gaussian", "lookback_bars": 30}
    result = run_training(resolve(raw), run_dir=tmp_path / "run", progress=False)
    weights = [result.val_metrics[f"residual_weight_h{h}"] for h in (1, 5, 30)]
    # w in (0, 1] — exactly 1 (with T = 1) where the cross-fit kept no calibration (λ = 0)
    assert all(0.0 < w <= 1.0 for w in weights)
    for h in (1, 5, 30):
        lam = result.val_metrics[f"calibration_shrink_h{h}"]
        assert lam in (0.0, 0.25, 0.5, 0.75, 1.0)
        if lam == 0.0:
            assert result.val_metrics[f"residual_weight_h{h}"] == 1.0
    model, _ = runs.load_model(result.run_dir)
    assert torch.equal(model.residual_weight, result.model.residual_weight)
    assert torch.equal(model.temperature, result.model.temperature)
    assert float(model.prior.tick) > 0  # type: ignore[union-attr,arg-type]
    # calibration lowers validation NLL (up to w < 1 by construction: sigmoid(4) = 0.982 start)
    assert result.val_metrics["nll"] <= result.val_metrics["nll_uncalibrated"] + 1e-4
