"""Latency probe, synthetic bars, fixtures format and the CLI sub-apps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from ash.bars.columns import bar_columns
from ash.cli.contract import app as contract_app
from ash.export.decode import summarize
from ash.export.latency import measure_latency
from ash.export.synthetic import TICK, synthetic_bars
from ash.onnx_io import cpu_session


def test_latency_reports_percentiles(toy_onnx: Path) -> None:
    stats = measure_latency(toy_onnx, warmup=2, iters=20)
    assert 0 < stats["min_ms"] <= stats["p50_ms"] <= stats["p99_ms"]
    assert stats["threads"] == 1 and stats["batch"] == 1
    batched = measure_latency(toy_onnx, batch=8, warmup=1, iters=5, optimization="disabled")
    assert batched["batch"] == 8


def test_latency_refuses_bad_arguments(toy_onnx: Path) -> None:
    with pytest.raises(ValueError, match="iters >= 1"):
        measure_latency(toy_onnx, iters=0)


def test_synthetic_bars_are_realistic() -> None:
    columns = bar_columns(options=True, context=True)
    bars = synthetic_bars(columns, 50, 20, seed=1).astype(np.float64)
    col = {name: bars[:, :, i] for i, name in enumerate(columns)}
    assert bars.dtype == np.float64 and np.isfinite(bars).all()
    assert (col["bid"] > 0).all() and (col["ask"] > col["bid"]).all()
    for name in ("bid", "ask", "close", "open"):
        ticks = col[name] / TICK
        assert np.allclose(ticks, np.round(ticks), atol=1e-3), name
    assert (col["low"] <= col["open"]).all() and (col["high"] >= col["close"]).all()
    assert (col["low"] >= col["bid"] - 1e-6).all() and (col["high"] <= col["ask"] + 1e-6).all()
    assert np.allclose(col["buy_volume"] + col["sell_volume"], col["volume"])
    assert (col["session_start"][:, 0] == 1).all() and (col["session_start"][:, 1:] == 0).all()
    assert (np.diff(col["time_of_day"], axis=1) == 1).all()
    assert ((col["atm_iv_30d"] > 0.05) & (col["atm_iv_30d"] < 0.6)).all()
    assert (col["ctx_mid"] > 0).all()
    again = synthetic_bars(columns, 50, 20, seed=1)
    assert np.array_equal(again, synthetic_bars(columns, 50, 20, seed=1))


def test_fixture_vectors_reproduce(
    contract_fixtures: Path, contract_manifest: dict[str, Any]
) -> None:
    assert contract_manifest["format"] == 1 and contract_manifest["contract"] == 1
    shapes = set()
    for entry in contract_manifest["valid"]:
        bars = np.load(contract_fixtures / entry["inputs"])
        probs = np.load(contract_fixtures / entry["probs"])
        edges = np.load(contract_fixtures / entry["edges"])
        assert bars.dtype == np.dtype("<f4") and probs.dtype == np.dtype("<f4")
        assert bars.shape[1:] == (entry["window"], entry["n_columns"])
        assert probs.shape[1:] == (entry["n_horizons"], entry["n_buckets"])
        assert edges.shape[1:] == (entry["n_horizons"], entry["n_buckets"] + 1)
        got_probs, got_edges = cpu_session(contract_fixtures / entry["model"]).run(
            None, {"bars": bars}
        )
        assert np.abs(got_probs - probs).max() <= contract_manifest["parity_tolerance"]
        assert np.abs(got_edges - edges).max() <= 1e-3
        s = summarize(probs[0, 0], edges[0, 0])
        assert entry["summaries"][0][0]["mean_bps"] == pytest.approx(s.mean_bps)
        assert entry["summaries"][0][0]["p_up"] == pytest.approx(s.p_up)
        shapes.add((entry["window"], entry["n_columns"], entry["n_horizons"], entry["n_buckets"]))
    assert len(shapes) == len(contract_manifest["valid"]) >= 3
    names = {e["name"] for e in contract_manifest["invalid"]}
    assert {
        "wrong_input_name",
        "missing_metadata_window",
        "probs_not_normalized",
        "edges_not_increasing",
        "truncated_file",
        "wrong_dtype",
        "wrong_rank",
        "unsupported_contract",
        "bad_metadata_json",
    } <= names


def test_contract_check_cli(toy_onnx: Path, contract_fixtures: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(contract_app, ["check", str(toy_onnx)])
    assert ok.exit_code == 0, ok.output
    assert "honours the ash ONNX contract v1" in ok.output
    bad = runner.invoke(
        contract_app, ["check", str(contract_fixtures / "invalid" / "wrong_dtype.onnx")]
    )
    assert bad.exit_code == 1
    assert "3 violations" in bad.output
    for code in ("dtype:bars", "dtype:probs", "dtype:edges"):
        assert code in bad.output
    missing = runner.invoke(contract_app, ["check", "/nonexistent/model.onnx"])
    assert missing.exit_code == 1 and "unloadable" in missing.output


def test_fixtures_module_cli(tmp_path: Path) -> None:
    from ash.export.fixtures import main

    assert main([]) == 2
