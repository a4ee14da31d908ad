"""`ash tune` through its typer command: success output and every error path's message."""

from __future__ import annotations

import copy
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from ash.cli.tune import app
from tests.tune.conftest import BASE, write_experiment

runner = CliRunner()


def test_all_over_budget_needs_no_training(experiment_file: Path, tmp_path: Path) -> None:
    """Real build, export and timing; a budget nothing meets: no data is ever read."""
    out = tmp_path / "tuning"
    result = runner.invoke(
        app,
        [
            str(experiment_file),
            "--trials",
            "2",
            "--out",
            str(out),
            "--set",
            "tune.budget.p99_ms=0.000001",
            "--set",
            "tune.latency_iters=10",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 trials — 0 completed, 2 pruned for latency (untrained)" in result.output
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{out / 'tiny.db'}")
    assert [t.user_attrs["ash.state"] for t in study.trials] == ["pruned-latency"] * 2
    assert not (out / "tiny" / "best.yaml").exists()
    assert "over the latency budget" in (out / "tiny" / "report.md").read_text()


def test_experiment_without_tune_block(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    del data["tune"]
    path = write_experiment(tmp_path / "plain.yaml", data)
    result = runner.invoke(app, [str(path), "--out", str(tmp_path / "t")])
    assert result.exit_code == 1
    assert "no `tune:` block" in result.output


def test_typo_in_search_space(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["tune"]["space"] = {"model.backbone.n_layer": {"type": "int", "low": 1, "high": 2}}
    path = write_experiment(tmp_path / "typo.yaml", data)
    result = runner.invoke(app, [str(path), "--out", str(tmp_path / "t")])
    assert result.exit_code == 1
    assert "model.backbone.n_layer" in result.output and "n_layers" in result.output


def test_bad_storage(experiment_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, [str(experiment_file), "--storage", "study.db", "--out", str(tmp_path / "t")]
    )
    assert result.exit_code == 1
    assert "neither a database URL" in result.output


def test_rust_required_but_missing(
    experiment_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "ash-serve"
    fake.write_text("#!/bin/sh\necho no\n")
    fake.chmod(0o755)
    monkeypatch.setenv("ASH_SERVE_BIN", str(fake))
    out = tmp_path / "t"
    args = [str(experiment_file), "--out", str(out), "--set", "tune.budget.measure_on=rust"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "measure_on is 'rust'" in result.output
    assert not (out / "tiny.db").exists()  # refused before any study was opened
