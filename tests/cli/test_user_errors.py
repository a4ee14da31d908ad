"""User errors print one clear line and exit non-zero, with no traceback (``--debug`` shows it),
and a training that cannot start leaves no run folder behind. The CLI runs as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_ash(
    *args: str, cwd: Path, experiments: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("ASH_DEBUG", None)
    if experiments is not None:
        env["ASH_EXPERIMENTS"] = str(experiments)
    return subprocess.run(
        [sys.executable, "-m", "ash.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def test_training_before_importing_data_is_one_line_and_leaves_no_run_folder(
    tmp_path: Path,
) -> None:
    experiments = tmp_path / "experiments"
    spy = str(REPO / "configs" / "spy.yaml")
    line = _one_error_line(run_ash("train", spy, cwd=tmp_path, experiments=experiments))
    assert "data/ash.duckdb" in line and "ash data import" in line
    assert not any((experiments / "runs").glob("*")), "a failed start left a run folder"

    debug = run_ash("--debug", "train", spy, cwd=tmp_path, experiments=experiments)
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "DataError" in debug.stderr
    assert not any((experiments / "runs").glob("*"))


def test_bad_run_folder_and_missing_files(tmp_path: Path) -> None:
    line = _one_error_line(run_ash("evaluate", str(tmp_path / "nope"), cwd=tmp_path))
    assert "nope is not a folder" in line
    line = _one_error_line(run_ash("export", str(tmp_path), cwd=tmp_path))
    assert str(tmp_path) in line
    # A config error lists each problem on its own line under one `error:` heading.
    done = run_ash("validate", str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert (
        done.stderr.startswith("error: ")
        and "missing.yaml: <root>: experiment file not found" in done.stderr
    )


def test_data_import_of_a_missing_path_prints_markup_not_tags(tmp_path: Path) -> None:
    done = run_ash(
        "data",
        "import",
        "lean",
        str(tmp_path / "nowhere"),
        "--db",
        str(tmp_path / "s.duckdb"),
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "[red]" not in done.stderr and "[/" not in done.stderr
    assert done.stderr.startswith("error: ") and "nowhere" in done.stderr


def test_an_ensemble_that_cannot_be_built_is_one_line(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    line = _one_error_line(
        run_ash("ensemble", str(run), "--out", str(tmp_path / "e"), cwd=tmp_path)
    )
    assert "at least two runs" in line
    line = _one_error_line(
        run_ash("ensemble", str(run), str(run), "--out", str(tmp_path / "e"), cwd=tmp_path)
    )
    assert "the same run is given twice" in line
    assert not (tmp_path / "e").exists(), "a refused ensemble left its output folder"
