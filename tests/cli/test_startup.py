"""`ash --help` and `ash serve` start fast: the CLI imports no heavy library until a command runs.

Asserted through ``sys.modules`` in a fresh interpreter, never with a clock (the figures are in
docs/cli.md).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "pandas", "optuna", "numpy", "onnx", "onnxruntime", "duckdb", "matplotlib")

PROBE = """
import json, sys
from ash.cli.main import app
for argv in {argvs!r}:
    try:
        app(argv, prog_name="ash")
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)
"""


def _heavy_modules_after(*argvs: list[str]) -> list[str]:
    code = PROBE.format(argvs=list(argvs), heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    return list(json.loads(done.stderr.strip().splitlines()[-1]))


def test_importing_the_cli_imports_no_heavy_library() -> None:
    assert _heavy_modules_after() == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["serve", "--help"],
        ["train", "--help"],
        ["evaluate", "--help"],
        ["tune", "--help"],
        ["contract", "check", "--help"],
        ["data", "import", "--help"],
    ],
)
def test_help_imports_no_heavy_library(argv: list[str]) -> None:
    assert _heavy_modules_after(argv) == []


def test_contract_checks_default_budget_is_the_validators() -> None:
    from ash.cli.contract import DEFAULT_MEMORY_BUDGET_MB
    from ash.export.validate import DEFAULT_MEMORY_BUDGET_BYTES

    assert DEFAULT_MEMORY_BUDGET_MB * (1 << 20) == DEFAULT_MEMORY_BUDGET_BYTES


def test_the_package_resolves_its_lazy_attributes() -> None:
    import ash

    assert isinstance(ash.__version__, str) and ash.__version__
    assert callable(ash.hookimpl)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = ash.nope  # type: ignore[attr-defined]
