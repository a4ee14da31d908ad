"""`ash train` talks: every long step leaves one summary line on stderr (data preparation, each
epoch with its train loss and validation NLL, calibration, evaluation) and the evaluation ends
with the test-span table. A tiny synthetic run, as a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.train.helpers import write_tiny

REPO = Path(__file__).resolve().parents[2]
ENTRY = REPO / "tests" / "train" / "cli_entry.py"  # `ash train` with the synthetic source


@pytest.mark.slow
def test_train_prints_a_summary_line_per_step_and_the_table(tmp_path: Path) -> None:
    experiment = write_tiny(tmp_path / "tiny.yaml", epochs=2)
    env = {**os.environ, "ASH_EXPERIMENTS": str(tmp_path / "experiments"), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, str(ENTRY), str(experiment), "--run-dir", str(tmp_path / "run")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    steps = [line for line in done.stderr.splitlines() if line.startswith("✓ ")]
    assert re.match(r"✓ data preparation: [\d,]+ bars, [\d,]+ training windows", steps[0])
    assert re.match(r"✓ epoch 1/2: train \d+\.\d{4}  val nll \d+\.\d{4}  \* best", steps[1])
    assert re.match(r"✓ epoch 2/2: train \d+\.\d{4}  val nll \d+\.\d{4}", steps[2])
    assert steps[3].startswith("✓ calibration: temperature per horizon 1 s ")
    assert steps[4].startswith("✓ evaluation of ") and "report.md" in steps[4]
    assert "test span" in done.stdout and "NLL per horizon" in done.stdout
    assert "climatology" in done.stdout and "30 s" in done.stdout
