"""The `ash` CLI run for real, as a subprocess, the way a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ASH = [sys.executable, "-m", "ash.cli.main"]


def run_ash(
    *args: str, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("ASH_LOAD_PLUGINS", None)
    env.update(env_extra or {})
    return subprocess.run(
        [*ASH, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def test_help_lists_the_commands() -> None:
    result = run_ash("--help")
    assert result.returncode == 0, result.stderr
    for command in ("plugins", "validate", "demo"):
        assert command in result.stdout


def test_plugins_lists_template_and_broken_plugin(fixture_plugins: Path) -> None:
    result = run_ash(
        "plugins",
        env_extra={
            "PYTHONPATH": str(fixture_plugins),
            "ASH_LOAD_PLUGINS": "template,broken_import",
        },
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "template_mlp" in out and "ash-plugin-template" in out and "0.1.0" in out
    assert "broken plugins" in out
    assert "ash-fixture-broken-import" in out and "ModuleNotFoundError" in out
    headings = {line.strip() for line in out.splitlines()}
    assert {"sources", "losses", "backbones", "feature builders"} <= headings  # not "losss"


def test_plugins_json_is_machine_readable(fixture_plugins: Path) -> None:
    import json

    result = run_ash(
        "plugins",
        "--json",
        env_extra={"PYTHONPATH": str(fixture_plugins), "ASH_LOAD_PLUGINS": "broken_import"},
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["broken"][0]["distribution"] == "ash-fixture-broken-import"
    assert "ash_nonexistent_dependency" in data["broken"][0]["error"]


def test_validate_default_passes_while_a_broken_plugin_is_installed(fixture_plugins: Path) -> None:
    result = run_ash(
        "validate",
        "configs/default.yaml",
        env_extra={
            "PYTHONPATH": str(fixture_plugins),
            "ASH_LOAD_PLUGINS": "broken_import",
            "COLUMNS": "40",  # a narrow terminal must not break the printed YAML
        },
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout.split("\n", 1)[1])
    assert resolved["name"] == "default"
    assert resolved["model"]["backbone"]["kind"] == "transformer"
    assert resolved["description"].endswith("the main job's embedded default.")


def test_validate_reports_typo_and_wrong_type_and_exits_nonzero(tmp_path: Path) -> None:
    experiment = yaml.safe_load((REPO / "configs/default.yaml").read_text())
    experiment["loss"] = {"kind": "cross_entrpy"}
    experiment["model"]["backbone"]["n_layers"] = "two"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    result = run_ash("validate", str(path))
    assert result.returncode == 1
    err = " ".join(result.stderr.split())  # rich may wrap long lines
    assert "loss.kind: unknown loss 'cross_entrpy'; did you mean 'cross_entropy'?" in err
    assert "model.backbone.n_layers:" in err and "(got 'two')" in err


def test_validate_uses_a_broken_plugin_component_fails_with_its_error(
    tmp_path: Path, fixture_plugins: Path
) -> None:
    experiment = yaml.safe_load((REPO / "configs/default.yaml").read_text())
    experiment["model"]["backbone"] = {"kind": "broken_backbone"}
    path = tmp_path / "uses_broken.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    result = run_ash(
        "validate",
        str(path),
        env_extra={"PYTHONPATH": str(fixture_plugins), "ASH_LOAD_PLUGINS": "broken_import"},
    )
    assert result.returncode == 1
    err = " ".join(result.stderr.split())
    assert "unknown backbone 'broken_backbone'" in err
    assert "ash-fixture-broken-import" in err and "ModuleNotFoundError" in err


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    block = readme.split("```bash", 1)[1].split("```", 1)[0]
    test_line = next(line for line in block.splitlines() if "test" in line)
    readme_command = test_line.split("#", 1)[0].strip()
    ci_commands = [
        line.strip()
        for line in (REPO / ".ci/run").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci_commands == [readme_command]
