"""The two validators refuse the probe files of issue 15 alike (the shared fixtures hold them:
a declared window of 1e9 bars, metadata nested 5,000 deep, tensors in an external file; the
Rust suite and tests/rust compare every code). Here: what does not depend on the fixture list."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ash.export.validate import validate_model

pytestmark = [pytest.mark.rust, pytest.mark.xdist_group("rust")]


def test_external_data_is_refused_wherever_the_validator_runs(
    contract_fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = contract_fixtures / "invalid" / "external_data.onnx"
    assert (model.parent / "external_data.onnx.data").is_file()
    elsewhere = [v.code for v in validate_model(model)]
    monkeypatch.chdir(model.parent)
    beside = [v.code for v in validate_model(Path(model.name))]
    assert elsewhere == beside == ["external-data"]


def test_the_memory_budget_is_one_setting_for_both_validators(
    serve_bin: Path,
    ort_env: dict[str, str],
    contract_manifest: dict[str, Any],
    contract_fixtures: Path,
) -> None:
    model = contract_fixtures / contract_manifest["valid"][0]["model"]
    tiny = 1 << 10  # 1 KiB: even the smallest fixture needs more to be checked
    assert [v.code for v in validate_model(model, memory_budget_bytes=tiny)] == [
        "over-memory-budget"
    ]
    done = subprocess.run(
        [str(serve_bin), "validate", str(model), "--memory-budget-mb", str(tiny / (1 << 20))],
        env=ort_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert [v["code"] for v in json.loads(done.stdout)["violations"]] == ["over-memory-budget"]
    assert os.path.getsize(model) < 1 << 20
