"""The validator catches every violation with a precise message (docs/contract.md §6)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import onnx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ash.export.contract import OPTIONAL_KEYS, REQUIRED_KEYS
from ash.export.metadata import check_metadata, encode_metadata
from ash.export.validate import check_model, validate_model
from ash.export.violations import ContractViolationError

GOOD_META: dict[str, Any] = {
    "ash.contract": 1,
    "ash.bar_columns": ["mid", "close"],
    "ash.bar_columns_version": 1,
    "ash.bar_seconds": 1.0,
    "ash.window": 8,
    "ash.horizons": [1, 5.5, 60],
    "ash.horizon_unit": "s",
    "ash.n_buckets": 5,
    "ash.reference_price": "mid",
    "ash.timezone": "America/New_York",
    "ash.gap_seconds": 300,
    "ash.gap_policy": "reset",
    "ash.plugins": [{"kind": "backbone", "name": "gru", "distribution": "ash", "version": "0.1"}],
    "ash.experiment": "e",
    "ash.data_fingerprint": "abc",
    "ash.metrics": {"nll": 1.2},
    "ash.created_by": "ash 0.1.0",
}


def _codes(path: Path) -> list[str]:
    return sorted(v.code for v in validate_model(path))


def _edit_meta(src: Path, dst: Path, key: str, value: str | None) -> Path:
    proto = onnx.load_model(str(src))
    kept = [p for p in proto.metadata_props if p.key != key]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    if value is not None:
        proto.metadata_props.add(key=key, value=value)
    onnx.save_model(proto, str(dst))
    return dst


def test_valid_model_has_no_violations(toy_onnx: Path) -> None:
    assert validate_model(toy_onnx) == []
    check_model(toy_onnx)  # does not raise


def test_every_fixture_reports_exactly_its_codes(
    contract_fixtures: Path, contract_manifest: dict[str, Any]
) -> None:
    assert len(contract_manifest["invalid"]) >= 20
    for entry in contract_manifest["valid"]:
        assert validate_model(contract_fixtures / entry["model"]) == [], entry["name"]
    for entry in contract_manifest["invalid"]:
        assert _codes(contract_fixtures / entry["model"]) == entry["expected"], entry["name"]


@pytest.mark.parametrize(
    ("fixture", "code", "fragments"),
    [
        ("wrong_input_name", "missing-input:bars", ["no input named 'bars'", "inputs: x"]),
        ("missing_metadata_window", "missing-metadata:ash.window", ["ash.window", "absent"]),
        ("probs_not_normalized", "probs-not-normalized", ["sum to 1 within 0.0001", "0.9"]),
        ("edges_not_increasing", "edges-not-increasing", ["strictly increasing", "horizon"]),
        ("truncated_file", "unloadable", ["truncated", "protobuf"]),
        ("bad_metadata_json", "bad-metadata-json:ash.horizons", ["'[1, 5,'", "not valid JSON"]),
        ("wrong_dtype", "dtype:bars", ["tensor(double)", "float32"]),
        ("fixed_batch", "batch-not-dynamic:bars", ["fixed batch dimension 2"]),
        ("window_mismatch", "dim:bars.window", ["size 8", "fixed size 9 (ash.window)"]),
        ("edges_wrong_sentinel", "edges-sentinel", ["-10000", "1e+09"]),
    ],
)
def test_violation_messages_are_precise(
    contract_fixtures: Path, fixture: str, code: str, fragments: list[str]
) -> None:
    found = {
        v.code: v.message for v in validate_model(contract_fixtures / "invalid" / f"{fixture}.onnx")
    }
    assert code in found
    for fragment in fragments:
        assert fragment in found[code], (fragment, found[code])


def test_check_model_raises_with_all_violations(contract_fixtures: Path) -> None:
    path = contract_fixtures / "invalid" / "wrong_dtype.onnx"
    with pytest.raises(ContractViolationError) as info:
        check_model(path)
    assert len(info.value.violations) == 3
    assert "3 violations" in str(info.value)
    assert "dtype:probs" in str(info.value)


def test_missing_file_is_unloadable(tmp_path: Path) -> None:
    violations = validate_model(tmp_path / "nope.onnx")
    assert [v.code for v in violations] == ["unloadable"]
    assert "does not exist" in violations[0].message


def test_several_metadata_problems_are_all_reported(toy_onnx: Path, tmp_path: Path) -> None:
    a = _edit_meta(toy_onnx, tmp_path / "a.onnx", "ash.timezone", None)
    b = _edit_meta(a, tmp_path / "b.onnx", "ash.n_buckets", "1")
    c = _edit_meta(b, tmp_path / "c.onnx", "ash.contract", "3")
    assert _codes(c) == [
        "bad-metadata-value:ash.n_buckets",
        "missing-metadata:ash.timezone",
        "unsupported-contract",
    ]


def test_unknown_and_foreign_keys_are_ignored(toy_onnx: Path, tmp_path: Path) -> None:
    a = _edit_meta(toy_onnx, tmp_path / "a.onnx", "ash.future_key", "not even json")
    b = _edit_meta(a, tmp_path / "b.onnx", "producer_note", "x")
    assert validate_model(b) == []


def test_optional_keys_may_be_absent_but_must_be_well_typed(toy_onnx: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    shutil.copy(toy_onnx, path)
    for key in OPTIONAL_KEYS:
        path = _edit_meta(path, tmp_path / f"{key}.onnx", key, None)
    assert validate_model(path) == []
    bad = _edit_meta(path, tmp_path / "bad.onnx", "ash.metrics", "[1, 2]")
    assert _codes(bad) == ["bad-metadata-value:ash.metrics"]


def test_good_metadata_parses() -> None:
    parsed, violations = check_metadata(encode_metadata(GOOD_META))
    assert violations == []
    assert parsed == GOOD_META


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("ash.window", "0"),
        ("ash.window", "true"),
        ("ash.window", "8.5"),
        ("ash.bar_seconds", "-1"),
        ("ash.bar_seconds", '"1"'),
        ("ash.horizons", "[5, 1]"),
        ("ash.horizons", "[]"),
        ("ash.horizons", "[1, 1]"),
        ("ash.horizon_unit", '"ms"'),
        ("ash.bar_columns", '["mid", "mid"]'),
        ("ash.bar_columns", '["mid", ""]'),
        ("ash.n_buckets", "1"),
        ("ash.reference_price", '"last"'),
        ("ash.timezone", '""'),
        ("ash.plugins", '[{"kind": "x", "name": "y", "distribution": "z"}]'),
        ("ash.experiment", "3"),
        ("ash.context_symbol", '""'),
        ("ash.context_symbol", '["SPY"]'),
    ],
)
def test_bad_values_are_named(key: str, raw: str) -> None:
    props = {**encode_metadata(GOOD_META), key: raw}
    _, violations = check_metadata(props)
    assert [v.code for v in violations] == [f"bad-metadata-value:{key}"]
    assert key in violations[0].message


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "mid", "{", ""])
def test_non_json_is_bad_json(raw: str) -> None:
    props = {**encode_metadata(GOOD_META), "ash.bar_seconds": raw}
    _, violations = check_metadata(props)
    assert [v.code for v in violations] == ["bad-metadata-json:ash.bar_seconds"]


@given(st.sampled_from(sorted(REQUIRED_KEYS)))
def test_each_missing_required_key_is_reported(key: str) -> None:
    props = encode_metadata(GOOD_META)
    del props[key]
    _, violations = check_metadata(props)
    assert [v.code for v in violations] == [f"missing-metadata:{key}"]


@given(
    window=st.integers(1, 10_000),
    horizons=st.lists(st.floats(0.001, 1e6), min_size=1, max_size=12, unique=True).map(sorted),
    buckets=st.integers(2, 1000),
)
def test_metadata_round_trips(window: int, horizons: list[float], buckets: int) -> None:
    meta = {**GOOD_META, "ash.window": window, "ash.horizons": horizons, "ash.n_buckets": buckets}
    parsed, violations = check_metadata(encode_metadata(meta))
    assert violations == []
    assert parsed["ash.window"] == window
    assert parsed["ash.horizons"] == horizons
    assert json.loads(json.dumps(parsed)) == parsed


def test_context_symbol_is_optional_and_parsed_when_present() -> None:
    parsed, violations = check_metadata(encode_metadata(GOOD_META))
    assert violations == [] and "ash.context_symbol" not in parsed
    parsed, violations = check_metadata(encode_metadata({**GOOD_META, "ash.context_symbol": "SPY"}))
    assert violations == [] and parsed["ash.context_symbol"] == "SPY"
