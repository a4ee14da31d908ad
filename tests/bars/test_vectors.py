"""The committed JSON vectors (what inference-rs is tested against) match the Python builder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ash.bars.builder import build_bars_from_stream
from ash.bars.spec import BarSpec
from ash.testing import bar_vectors as vectors
from ash.testing.lean_sample import data_dir
from tests.bars.reference import reference_bars

VECTOR_FILES = sorted(vectors.VECTOR_DIR.glob("*.json"))


def _spy_available() -> bool:
    try:
        data_dir()
    except FileNotFoundError:
        return False
    return True


def test_every_case_is_committed() -> None:
    assert {p.stem for p in VECTOR_FILES} == set(vectors.CASES)


@pytest.mark.parametrize("name", sorted(vectors.CASES))
def test_committed_vector_equals_regenerated(name: str) -> None:
    if name.startswith("spy_") and not _spy_available():
        pytest.skip("SPY sample data (../shared/data) not present on this machine")
    committed = (vectors.VECTOR_DIR / f"{name}.json").read_text()
    assert committed == vectors.dumps(vectors.CASES[name]()), (
        f"{name}.json is stale: the builder's behaviour changed. If intended, run "
        "`python -m ash.testing.bar_vectors`, bump BAR_COLUMNS_VERSION if columns changed, and "
        "tell the Rust side"
    )


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.stem)
def test_vector_replays_through_builder_and_streaming_reference(path: Path) -> None:
    case = json.loads(path.read_text())
    assert case["format"] == vectors.FORMAT
    spec = BarSpec.model_validate(case["spec"])
    stream = vectors.stream_from_json(case["events"])
    expected = case["expected"]
    values = np.array([b["values"] for b in expected["bars"]], dtype=np.float64)
    ts = [b["ts_ns"] for b in expected["bars"]]

    context = None
    if "context_events" in case:
        context = build_bars_from_stream(vectors.stream_from_json(case["context_events"]), spec)
        assert len(context) == expected["context_bars"]
        assert context.stats.rejected == expected["context_rejected"]
    bars = build_bars_from_stream(stream, spec, options=bool(len(stream.surface)), context=context)
    assert list(bars.columns) == case["columns"]
    assert bars.ts_ns.tolist() == ts
    np.testing.assert_array_equal(bars.values, values.reshape(bars.values.shape))
    assert bars.segment_starts.tolist() == expected["segment_starts"]
    assert bars.stats.rejected == expected["rejected"]

    # The per-event reference builds the symbol's own columns (ctx_* come from another symbol).
    ref = reference_bars(stream, spec, with_options=bool(len(stream.surface)))
    assert ref.bar_ts == ts
    own = values.reshape(bars.values.shape)[:, : ref.values().shape[1]]
    np.testing.assert_array_equal(ref.values(), own)
    assert ref.rejected == expected["rejected"]


def test_context_vector_covers_every_lookup_rule() -> None:
    """The ctx vector pins the fallback before the context starts, a filled context bar, a
    context gap (last bar carried, volumes 0) and a late context event."""
    case = json.loads((vectors.VECTOR_DIR / "context_columns.json").read_text())
    ctx = np.array([b["values"][-5:] for b in case["expected"]["bars"]])
    first_close = ctx[2, 0]
    assert (ctx[:2, 0] == first_close).all() and (ctx[:2, 2:] == 0).all()  # before its first bar
    assert ctx[4, 0] == ctx[3, 0] and (ctx[4, 2:] == 0).all()  # filled bar
    assert (ctx[6:10, 1] == ctx[5, 1]).all() and (ctx[6:10, 2:] == 0).all()  # across its gap
    assert case["expected"]["context_rejected"]["late"] == 1


def test_spy_vector_is_small_and_busy() -> None:
    path = vectors.VECTOR_DIR / "spy_20131007_1000.json"
    assert path.stat().st_size < 300_000
    case = json.loads(path.read_text())
    assert len(case["events"]) > 1000
    assert (
        sum(b["values"][8] for b in case["expected"]["bars"])
        == case["expected"]["accepted"]["trades"]
    )


def test_number_encoding_round_trips() -> None:
    stream = vectors.stream_from_json(
        [{"kind": "trade", "ts_ns": None, "price": "NaN", "size": "Infinity", "side": 0}]
    )
    assert np.isnan(stream.x0[0]) and np.isinf(stream.x1[0])
    with pytest.raises(ValueError, match="unknown kind"):
        vectors.stream_from_json([{"kind": "book", "ts_ns": 1}])
    with pytest.raises(ValueError, match="number encoding"):
        vectors.stream_from_json(
            [{"kind": "trade", "ts_ns": 1, "price": "nan", "size": 1, "side": 0}]
        )
