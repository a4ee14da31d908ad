"""Metadata taken from a run folder for ``ash export RUN``."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from ash.export.exporter import contract_metadata
from ash.export.run import run_metadata
from ash.export.toy import ToyContractModel


def _resolved() -> SimpleNamespace:
    bars = SimpleNamespace(
        reference="mid", timezone="America/New_York", gap_seconds=120.0, gap_policy="mask"
    )
    return SimpleNamespace(experiment=SimpleNamespace(name="spy_small", bars=bars))


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
