"""Walk-forward folds end to end, and the train/evaluate command functions' error paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ash.cli.evaluate import app as evaluate_app
from ash.cli.train import app as train_app
from ash.config.resolve import resolve
from ash.jobs.walkforward import run_walk_forward
from tests.train.helpers import tiny_experiment

runner = CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())  # rich wraps long lines


@pytest.mark.slow
def test_walk_forward_writes_a_table_across_folds(ash_root: Path, tmp_path: Path) -> None:
    raw = tiny_experiment(epochs=1).to_dict()
    raw["split"]["walk_forward_folds"] = 2
    table = run_walk_forward(resolve(raw), run_dir=tmp_path / "wf", progress=False)
    assert table["n_folds"] == 2
    nll = table["metrics"]["model.nll"]["h5"]
    assert len(nll["folds"]) == 2
    assert nll["std"] >= 0.0
    text = (tmp_path / "wf" / "walk_forward.md").read_text()
    assert "±" in text and "folds/fold_1/report.md" in text
    for k in (0, 1):
        assert (tmp_path / "wf" / "folds" / f"fold_{k}" / "report.md").is_file()


def test_evaluate_command_on_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    result = runner.invoke(evaluate_app, [str(tmp_path)])
    assert result.exit_code == 1
    assert "config.yaml is missing" in _flat(result.output)


def test_evaluate_command_on_a_missing_folder(tmp_path: Path) -> None:
    result = runner.invoke(evaluate_app, [str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "is not a folder" in _flat(result.output)


def test_train_command_needs_an_experiment_or_resume() -> None:
    result = runner.invoke(train_app, [])
    assert result.exit_code == 2
    assert "give an EXPERIMENT file or --resume RUN_DIR" in _flat(result.output)


def test_train_command_reports_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntrain: {epochs: 0}\n")
    result = runner.invoke(train_app, [str(bad)])
    assert result.exit_code == 1
    assert "error" in _flat(result.output)


def test_train_command_resume_of_an_empty_run_folder(tmp_path: Path) -> None:
    result = runner.invoke(train_app, ["--resume", str(tmp_path)])
    assert result.exit_code == 1
    assert "config.yaml is missing" in _flat(result.output)


def test_train_command_refuses_to_resume_a_walk_forward_parent(tmp_path: Path) -> None:
    (tmp_path / "folds").mkdir()
    result = runner.invoke(train_app, ["--resume", str(tmp_path)])
    assert result.exit_code == 1
    assert "is a walk-forward run" in _flat(result.output)
