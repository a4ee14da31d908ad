"""Config-only experiments: two-step validation, YAML paths, suggestions, extends, --set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ash.config import ConfigError, load_experiment
from ash.registry import Registry

VALID: dict[str, Any] = {
    "name": "toy",
    "data": {"source": {"kind": "toy_source", "rows": 5}, "symbols": ["TOY"]},
    "model": {
        "steps": 8,
        "features": [{"kind": "toy_returns", "lookback": 3}],
        "backbone": {"kind": "toy_transformer", "d_model": 32, "n_layers": 2},
        "discretizer": {"kind": "toy_uniform"},
    },
    "loss": {"kind": "toy_ce"},
}


def write(path: Path, data: dict[str, Any] | str) -> Path:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def issues_of(path: Path, registry: Registry, overrides: list[str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as excinfo:
        load_experiment(path, overrides, registry)
    return [issue.format() for issue in excinfo.value.issues]


def test_valid_experiment_resolves_components(tmp_path: Path, toy_registry: Registry) -> None:
    resolved = load_experiment(write(tmp_path / "e.yaml", VALID), registry=toy_registry)
    backbone = resolved.component("model.backbone")
    assert backbone.info.name == "toy_transformer"
    assert backbone.config.model_dump() == {"d_model": 32, "n_layers": 2}
    assert resolved.features[0].config.model_dump() == {"lookback": 3, "mode": "log"}
    resolved_dict = resolved.to_dict()
    assert resolved_dict["model"]["discretizer"] == {"kind": "toy_uniform", "n_buckets": 11}
    assert resolved_dict["horizons"] == [1, 5, 10, 30, 60, 120, 300, 600]
    assert resolved_dict["bars"]["seconds"] == 1.0


def test_typo_and_wrong_type_are_both_reported_with_paths_and_suggestion(
    tmp_path: Path, toy_registry: Registry
) -> None:
    text = yaml.safe_dump(VALID, sort_keys=False)
    text = text.replace("kind: toy_ce", "kind: toy_cee").replace("n_layers: 2", "n_layers: two")
    issues = issues_of(write(tmp_path / "bad.yaml", text), toy_registry)
    assert len(issues) == 2, issues
    loss, layers = sorted(issues, key=lambda s: "n_layers" in s)
    assert "loss.kind: unknown loss 'toy_cee'; did you mean 'toy_ce'?" in loss
    assert "model.backbone.n_layers:" in layers and "valid integer" in layers
    assert "(got 'two')" in layers
    # Locations point at the lines in the file.
    lines = (tmp_path / "bad.yaml").read_text().splitlines()
    for issue, needle in ((loss, "toy_cee"), (layers, "n_layers")):
        file_line = issue.split(": ")[0]
        line_no = int(file_line.rsplit(":", 1)[1])
        assert needle in lines[line_no - 1], (issue, lines[line_no - 1])


def test_unknown_parameter_suggests_the_close_name(tmp_path: Path, toy_registry: Registry) -> None:
    data = yaml.safe_load(yaml.safe_dump(VALID))
    data["model"]["backbone"]["d_modle"] = 64
    (issue,) = issues_of(write(tmp_path / "e.yaml", data), toy_registry)
    assert "model.backbone.d_modle: unknown parameter" in issue
    assert "did you mean 'd_model'?" in issue


def test_structural_errors_are_collected_with_component_errors(
    tmp_path: Path, toy_registry: Registry
) -> None:
    data = yaml.safe_load(yaml.safe_dump(VALID))
    data["train"] = {"epochs": 0, "lr": "fast"}
    data["split"] = {"train": 0.9, "val": 0.2, "test": 0.1}
    data["model"]["features"].append({"kind": "toy_retruns"})
    issues = "\n".join(issues_of(write(tmp_path / "e.yaml", data), toy_registry))
    assert "train.epochs: Input should be greater than or equal to 1" in issues
    assert "train.lr:" in issues
    assert "split: Value error, train + val + test must be 1" in issues
    assert "model.features.1.kind: unknown feature builder 'toy_retruns'" in issues
    assert "did you mean 'toy_returns'" in issues


def test_missing_kind_and_missing_sections(tmp_path: Path, toy_registry: Registry) -> None:
    issues = "\n".join(
        issues_of(write(tmp_path / "e.yaml", {"name": "x", "data": {"symbols": []}}), toy_registry)
    )
    assert "data.source: Field required" in issues
    assert "data.symbols: List should have at least 1 item" in issues
    assert "model: Field required" in issues


def test_set_overrides_values_and_list_items(tmp_path: Path, toy_registry: Registry) -> None:
    path = write(tmp_path / "e.yaml", VALID)
    resolved = load_experiment(
        path,
        [
            "model.backbone.d_model=128",
            "model.features.0.lookback=7",
            "horizons=[1, 2]",
            "train.device=cpu",
        ],
        toy_registry,
    )
    assert resolved.component("model.backbone").config.model_dump()["d_model"] == 128
    assert resolved.features[0].config.model_dump()["lookback"] == 7
    assert resolved.experiment.horizons == [1, 2]
    assert resolved.experiment.train.device == "cpu"


def test_bad_overrides_are_reported(tmp_path: Path, toy_registry: Registry) -> None:
    path = write(tmp_path / "e.yaml", VALID)
    (issue,) = issues_of(path, toy_registry, ["model.backbone.n_layers=9"])
    assert issue.startswith("--set: model.backbone.n_layers:")
    assert "less than or equal to 4" in issue
    with pytest.raises(ConfigError, match=r"must look like dotted\.path=value"):
        load_experiment(path, ["model.backbone.d_model"], toy_registry)
    with pytest.raises(ConfigError, match="list index must be an integer below 1"):
        load_experiment(path, ["model.features.3.lookback=2"], toy_registry)


def test_extends_merges_and_replaces_blocks_whose_kind_changes(
    tmp_path: Path, toy_registry: Registry
) -> None:
    write(tmp_path / "base.yaml", VALID)
    child = {
        "extends": "base.yaml",
        "name": "child",
        "model": {"backbone": {"d_model": 64}, "discretizer": {"kind": "toy_uniform"}},
        "train": {"epochs": 2},
    }
    resolved = load_experiment(write(tmp_path / "child.yaml", child), registry=toy_registry)
    assert resolved.experiment.name == "child"
    assert resolved.component("model.backbone").config.model_dump() == {
        "d_model": 64,
        "n_layers": 2,
    }
    assert resolved.experiment.train.epochs == 2
    assert resolved.experiment.model.steps == 8  # inherited
    # A changed kind drops the parent's parameters instead of leaking them.
    write(tmp_path / "other.yaml", {"extends": "base.yaml", "loss": {"kind": "toy_ce"}})
    write(
        tmp_path / "swap.yaml",
        {"extends": "base.yaml", "model": {"features": [{"kind": "toy_returns"}]}},
    )
    swapped = load_experiment(tmp_path / "swap.yaml", registry=toy_registry)
    assert swapped.features[0].config.model_dump()["lookback"] == 1


def test_extends_errors(tmp_path: Path, toy_registry: Registry) -> None:
    write(tmp_path / "a.yaml", {"extends": "b.yaml"})
    write(tmp_path / "b.yaml", {"extends": "a.yaml"})
    with pytest.raises(ConfigError, match="circular extends"):
        load_experiment(tmp_path / "a.yaml", registry=toy_registry)
    write(tmp_path / "c.yaml", {"extends": "missing.yaml"})
    with pytest.raises(ConfigError, match="base experiment not found"):
        load_experiment(tmp_path / "c.yaml", registry=toy_registry)


def test_malformed_yaml_reports_line_and_column(tmp_path: Path, toy_registry: Registry) -> None:
    path = write(tmp_path / "e.yaml", "name: x\nmodel:\n  steps: [1, 2\n  backbone: {}\n")
    with pytest.raises(ConfigError) as excinfo:
        load_experiment(path, registry=toy_registry)
    (issue,) = excinfo.value.issues
    assert issue.location is not None and issue.location.startswith(f"{path}:")
    assert "malformed YAML" in issue.message


def test_non_mapping_and_missing_file(tmp_path: Path, toy_registry: Registry) -> None:
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_experiment(write(tmp_path / "e.yaml", "- a\n- b\n"), registry=toy_registry)
    with pytest.raises(ConfigError, match="experiment file not found"):
        load_experiment(tmp_path / "nope.yaml", registry=toy_registry)


def test_experiment_name_defaults_to_file_stem(tmp_path: Path, toy_registry: Registry) -> None:
    data = {k: v for k, v in VALID.items() if k != "name"}
    resolved = load_experiment(write(tmp_path / "my-exp.yaml", data), registry=toy_registry)
    assert resolved.experiment.name == "my-exp"
