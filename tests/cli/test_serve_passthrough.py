"""`ash serve` hands every ash-serve option it does not type itself through unchanged
(``--quantiles``, ``--emit-bars``, ``--max-symbols``...), with the real binary on real SPY ticks;
``--runtime-help`` prints ash-serve's own option list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ash.runtime import release_build

pytestmark = [pytest.mark.rust, pytest.mark.xdist_group("rust")]

REPO = Path(__file__).resolve().parents[2]
SPY_VECTOR = REPO / "tests" / "vectors" / "bars" / "spy_20131007_1000.json"
MODEL = "valid/w8_c17_h3_k5.onnx"


def _ash_serve(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    if not release_build().is_file():
        pytest.fail(f"{release_build()} is missing: run scripts/setup.sh")
    return subprocess.run(
        [sys.executable, "-m", "ash.cli.main", "serve", *args],
        input=stdin,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _ticks(n: int) -> str:
    events = json.loads(SPY_VECTOR.read_text())["events"][:n]
    lines = []
    for event in events:
        line = {k: v for k, v in event.items() if k not in ("kind", "ts_ns")}
        line.update(type=event["kind"], symbol="SPY", ts=event["ts_ns"])
        lines.append(json.dumps(line))
    return "\n".join(lines) + "\n"


def test_untyped_options_reach_ash_serve(contract_fixtures: Path) -> None:
    model = str(contract_fixtures / MODEL)
    done = _ash_serve(
        model, "--stdin", "--log-every", "0", "--quantiles", "0.1,0.9", "--emit-bars",
        "--max-symbols=4", stdin=_ticks(400),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = {r["type"] for r in replies}
    assert kinds == {"bar", "prediction"}, kinds  # --emit-bars reached the server
    prediction = next(r for r in replies if r["type"] == "prediction")
    assert set(prediction["horizons"][0]["quantiles"]) == {"0.1", "0.9"}


def test_a_bad_passed_through_value_is_ash_serves_error(contract_fixtures: Path) -> None:
    done = _ash_serve(str(contract_fixtures / MODEL), "--stdin", "--max-symbol-bytes", "0")
    assert done.returncode != 0
    assert "--max-symbol-bytes" in done.stderr and "Traceback" not in done.stderr


def test_runtime_help_lists_every_ash_serve_option() -> None:
    done = _ash_serve("--runtime-help")
    assert done.returncode == 0, done.stderr
    for option in ("--quantiles", "--max-symbols", "--emit-bars", "--port-file", "--max-batch"):
        assert option in done.stdout
