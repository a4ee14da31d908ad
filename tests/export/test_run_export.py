"""Metadata taken from a run folder for ``ash export RUN``."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from ash.export.exporter import contract_metadata
from ash.export.run import run_metadata
from ash.export.toy import ToyContractModel


def _resolved(context_symbol: str | None = None) -> SimpleNamespace:
    bars = SimpleNamespace(
        reference="mid", timezone="America/New_York", gap_seconds=120.0, gap_policy="mask"
    )
    data = SimpleNamespace(context_symbol=context_symbol)
    return SimpleNamespace(experiment=SimpleNamespace(name="spy_small", bars=bars, data=data))


def test_run_metadata_reads_meta_and_metrics(tmp_path: Path) -> None:
    (tmp_path / "meta.json").write_text(json.dumps({"data_fingerprint": "sha256:abc"}))
    (tmp_path / "metrics.json").write_text(json.dumps({"val": {"nll": 1.5}, "test": {"nll": 9}}))
    meta = run_metadata(tmp_path, _resolved())
    assert meta["ash.experiment"] == "spy_small"
    assert meta["ash.data_fingerprint"] == "sha256:abc"
    assert meta["ash.metrics"] == {"nll": 1.5}
    assert meta["ash.gap_policy"] == "mask"
    full = contract_metadata(ToyContractModel(), meta)  # complete and valid with the model's keys
    assert full["ash.window"] == 16


def test_run_metadata_without_metrics_or_fingerprint(tmp_path: Path) -> None:
    meta = run_metadata(tmp_path, _resolved())
    assert meta["ash.metrics"] == {}
    assert "ash.data_fingerprint" not in meta
    assert "ash.context_symbol" not in meta


def test_run_metadata_names_the_context_symbol(tmp_path: Path) -> None:
    assert run_metadata(tmp_path, _resolved("SPY"))["ash.context_symbol"] == "SPY"


def _make_run(tmp_path: Path) -> Path:
    """A run folder as the trainer leaves it (config, meta, metrics, final checkpoint)."""
    import yaml

    from ash import runs
    from ash.bars.columns import CORE_COLUMNS
    from ash.checkpoint import save_checkpoint
    from ash.config import resolve

    raw = yaml.safe_load(Path("configs/default.yaml").read_text())
    raw["data"]["source"] = {"kind": "duckdb", "path": str(tmp_path / "none.duckdb")}
    raw["horizons"] = [1, 60]
    raw["model"]["steps"] = 8
    raw["model"]["features"] = [{"kind": "returns", "lookbacks": [1, 5]}]
    raw["model"]["backbone"] = {"kind": "transformer", "d_model": 16, "n_layers": 1, "n_heads": 2}
    raw["model"]["discretizer"] = {"kind": "log_return", "n_buckets": 11}
    resolved = resolve(raw)
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    runs.write_config(run_dir, resolved)
    runs.write_json(
        run_dir / "meta.json", {"bar_columns": list(CORE_COLUMNS), "data_fingerprint": "fp-123"}
    )
    runs.write_json(run_dir / "metrics.json", {"val": {"nll": 2.0}})
    model = runs.make_model(resolved, CORE_COLUMNS)
    save_checkpoint({"model": model.state_dict()}, run_dir / "checkpoints" / "model.pt")
    return run_dir


def test_export_cli_on_a_run_folder(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ash.cli.export import app
    from ash.export.validate import validate_model

    run_dir = _make_run(tmp_path)
    result = CliRunner().invoke(app, [str(run_dir), "--no-optimize"])
    assert result.exit_code == 0, result.output
    assert "parity ok" in result.output
    assert "128 windows of synthetic bars" in result.output
    assert validate_model(run_dir / "model.onnx") == []
    import onnx

    props = {
        p.key: json.loads(p.value)
        for p in onnx.load_model(str(run_dir / "model.onnx")).metadata_props
    }
    assert props["ash.data_fingerprint"] == "fp-123"
    assert props["ash.metrics"] == {"nll": 2.0}
    assert props["ash.experiment"] == "default"
    kinds = {(p["kind"], p["name"]) for p in props["ash.plugins"]}
    assert {
        ("feature_builder", "returns"),
        ("backbone", "transformer"),
        ("discretizer", "log_return"),
    } <= kinds


def test_export_cli_reports_a_missing_run(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ash.cli.export import app

    result = CliRunner().invoke(app, [str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "export failed" in result.output
    assert "config.yaml is missing" in result.output


def test_parity_uses_the_runs_validation_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    from ash.bars.columns import CORE_COLUMNS
    from ash.export import run as export_module
    from ash.export.run import export_run
    from ash.export.synthetic import synthetic_bars

    run_dir = _make_run(tmp_path)
    (run_dir / "meta.json").write_text(
        json.dumps({"bar_columns": list(CORE_COLUMNS), "data_fingerprint": "fp-123"})
    )
    monkeypatch.setenv("ASH_EXPERIMENTS", str(tmp_path / "exp"))
    (tmp_path / "exp" / "cache").mkdir(parents=True)
    (tmp_path / "exp" / "cache" / "fp-123.npz").write_bytes(b"")
    values = synthetic_bars(CORE_COLUMNS, 500, 1, seed=4)[0].astype(np.float64)
    seen: dict[str, int] = {}

    def fake_prepare(resolved: object, window: int, root: Path) -> SimpleNamespace:
        seen["window"] = window
        samples = SimpleNamespace(val=np.arange(300, 500), test=np.arange(0))
        return SimpleNamespace(
            bars=SimpleNamespace(columns=CORE_COLUMNS, values=values), samples=samples
        )

    monkeypatch.setattr(export_module, "prepare_data", fake_prepare)
    done = export_run(run_dir, optimize=False)
    assert done.windows_source == "128 windows of the run's validation bars"
    assert done.parity is not None and done.parity.ok and done.parity.windows == 128
    assert seen["window"] > 0
