"""The `ash serve` command: model resolution, the launched command line, clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ash.cli.serve import app
from ash.runtime import ServeError, build_command, resolve_model
from ash.runtime_lib import onnxruntime_library

pytestmark = [pytest.mark.rust, pytest.mark.xdist_group("rust")]


def test_runtime_lib_points_at_the_python_packages_library() -> None:
    lib = onnxruntime_library()
    assert lib.is_file() and lib.name.startswith("libonnxruntime") and "capi" in lib.parts
    done = subprocess.run(
        [sys.executable, "-m", "ash.runtime_lib"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == str(lib)


def test_run_folder_resolves_to_its_model_and_variants(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"x")
    assert resolve_model(tmp_path) == tmp_path / "model.onnx"
    with pytest.raises(ServeError, match=r"has no model\.ort\.onnx; export the run first"):
        resolve_model(tmp_path, "ort")
    with pytest.raises(ServeError, match="unknown variant"):
        resolve_model(tmp_path, "int8")
    with pytest.raises(ServeError, match="neither a run folder nor a model file"):
        resolve_model(tmp_path / "missing")


def test_command_line_carries_the_options_and_the_library(
    serve_bin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASH_SERVE_BIN", str(serve_bin))
    argv, env = build_command(
        Path("m.onnx"), symbols=["SPY", "QQQ"], session="09:30-16:00", threads=2, cuda=True
    )
    assert argv[:3] == [str(serve_bin), "serve", "m.onnx"]
    joined = " ".join(argv)
    assert "--symbols SPY,QQQ" in joined and "--session 09:30-16:00" in joined
    assert "--threads 2" in joined and "--cuda 0" in joined and "--listen 127.0.0.1:7878" in joined
    assert env["ORT_DYLIB_PATH"] == str(onnxruntime_library())
    assert str(onnxruntime_library().parent) in env["LD_LIBRARY_PATH"]


def test_cli_reports_a_missing_model_or_binary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    result: Any = runner.invoke(app, [str(tmp_path / "nope.onnx")])
    assert result.exit_code == 1
    assert "neither a run folder nor a model file" in result.output
    (tmp_path / "m.onnx").write_bytes(b"x")
    monkeypatch.setenv("ASH_SERVE_BIN", str(tmp_path / "no-binary"))
    result = runner.invoke(app, [str(tmp_path / "m.onnx")])
    assert result.exit_code == 1 and "is not a file" in result.output
