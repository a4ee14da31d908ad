"""ash-serve validate/eval against the shared contract fixtures: the same verdicts and codes as
the Python validator, the same outputs as Python ONNX Runtime."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ash.export.validate import validate_model

pytestmark = [pytest.mark.rust, pytest.mark.xdist_group("rust")]


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_every_invalid_fixture_is_rejected_with_the_python_codes(
    serve_bin: Path,
    ort_env: dict[str, str],
    contract_fixtures: Path,
    contract_manifest: dict[str, Any],
) -> None:
    assert contract_manifest["invalid"]
    for case in contract_manifest["invalid"]:
        model = contract_fixtures / case["model"]
        done = _run([str(serve_bin), "validate", str(model)], ort_env)
        assert done.returncode == 2, (case["name"], done.stderr)
        verdict = json.loads(done.stdout)
        rust_codes = {v["code"] for v in verdict["violations"]}
        python_codes = {v.code for v in validate_model(model)}
        assert rust_codes == set(case["expected"]) == python_codes, case["name"]
        assert all(v["message"] for v in verdict["violations"])


def test_every_valid_fixture_is_accepted_and_evaluates_like_python(
    serve_bin: Path,
    ort_env: dict[str, str],
    contract_fixtures: Path,
    contract_manifest: dict[str, Any],
) -> None:
    tolerance = contract_manifest["parity_tolerance"]
    for case in contract_manifest["valid"]:
        model = contract_fixtures / case["model"]
        done = _run([str(serve_bin), "validate", str(model)], ort_env)
        assert done.returncode == 0, (case["name"], done.stdout, done.stderr)
        assert json.loads(done.stdout)["spec"]["window"] == case["window"]
        done = _run(
            [str(serve_bin), "eval", str(model), str(contract_fixtures / case["inputs"])], ort_env
        )
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        probs = np.asarray(out["probs"], dtype=np.float32).reshape(out["shape_probs"])
        edges = np.asarray(out["edges"], dtype=np.float32).reshape(out["shape_edges"])
        want_probs = np.load(contract_fixtures / case["probs"])
        want_edges = np.load(contract_fixtures / case["edges"])
        assert probs.shape == want_probs.shape
        assert np.abs(probs - want_probs).max() <= tolerance, case["name"]
        assert np.abs(edges - want_edges).max() <= tolerance, case["name"]


def test_missing_onnx_runtime_library_is_reported_clearly(
    serve_bin: Path,
    ort_env: dict[str, str],
    contract_fixtures: Path,
    contract_manifest: dict[str, Any],
) -> None:
    model = contract_fixtures / contract_manifest["valid"][0]["model"]
    env = {k: v for k, v in ort_env.items() if k != "ORT_DYLIB_PATH"}
    done = _run([str(serve_bin), "validate", str(model)], env)
    assert done.returncode == 1
    assert "ORT_DYLIB_PATH" in done.stderr and "python -m ash.runtime_lib" in done.stderr
    done = _run([str(serve_bin), "validate", str(model), "--ort-lib", "/nonexistent/lib.so"], env)
    assert done.returncode == 1 and "/nonexistent/lib.so is not a file" in done.stderr
