"""Serving a model with a context symbol, on real data: a tiny model trained with the
``cross_asset`` features and ``data.context_symbol: SPY`` on AIG (Lean sample day 2013-10-07),
exported, then served by the real ``ash-serve`` on the time-merged ticks of AIG, BAC and SPY at
once (the model serves any symbol; parity does not depend on what it learned). The bars
ash-serve builds (ctx_* columns included) must equal the Python bar builder's bit for bit, and
every prediction must equal Python ONNX Runtime on the same window within 1e-5.
A model that reads ctx_* columns but names no context symbol is refused with a clear
message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest

from ash.bars.builder import build_bars
from ash.config import load_experiment
from ash.data.sources.lean import LeanConfig, LeanSource
from ash.export.run import export_run
from ash.jobs.replay import ReplayError, model_bar_spec, replay_ticks
from ash.paths import repo_root
from ash.runtime import build_command
from ash.testing.lean_sample import data_dir
from ash.train.trainer import run_training

pytestmark = [pytest.mark.rust, pytest.mark.slow, pytest.mark.xdist_group("rust")]

TRAINED = "AIG"
SERVED = ["AIG", "BAC"]
CONTEXT = "SPY"
DAY = "2013-10-07"
TRAIN = (f"{DAY}T10:00:00-04:00", f"{DAY}T10:30:00-04:00")
REPLAY = (pd.Timestamp(f"{DAY}T10:40:00-04:00"), pd.Timestamp(f"{DAY}T10:45:00-04:00"))
TINY = [
    f"data.symbols=[{TRAINED}]",
    f"data.context_symbol={CONTEXT}",
    f"data.start='{TRAIN[0]}'",
    f"data.end='{TRAIN[1]}'",
    "horizons=[1, 5, 10]",
    "model.steps=8",
    "model.features=[{kind: cross_asset, return_lookbacks: [1, 5], "
    "corr_windows: [20], lead_lags: [1], lead_lag_window: 20}]",
    "model.prior={kind: none}",
    "model.backbone={kind: transformer, d_model: 16, n_layers: 1, n_heads: 2}",
    "train.epochs=1",
    "train.batch_size=128",
    "train.max_train_samples=512",
    "train.max_val_samples=256",
]


def _shared() -> Path:
    try:
        shared = data_dir().parent
    except FileNotFoundError as exc:
        pytest.skip(f"Lean sample data not available: {exc}")
    if not (shared / "lean-2013-10").is_dir():
        pytest.skip("../shared/data/lean-2013-10 (AIG, BAC, IBM) not available")
    return shared


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, LeanSource]]:
    shared = _shared()
    root = tmp_path_factory.mktemp("ctx")
    mp = pytest.MonkeyPatch()
    mp.setenv("ASH_EXPERIMENTS", str(root / "experiments"))
    source_override = f"data.source={{kind: lean, path: '{shared}', days: ['{DAY}']}}"
    resolved = load_experiment(repo_root() / "configs" / "default.yaml", [source_override, *TINY])
    trained = run_training(resolved)
    export_run(trained.run_dir, validate=True, optimize=False)
    source = LeanSource(LeanConfig(path=str(shared), days=[DAY]))
    yield trained.run_dir / "model.onnx", source
    mp.undo()


def _feed(source: LeanSource, symbol: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    start, end = REPLAY
    trades = pd.concat(list(source.read("trades", [symbol], start, end)), ignore_index=True)
    quotes = pd.concat(list(source.read("quotes", [symbol], start, end)), ignore_index=True)
    return trades, quotes


def test_served_context_model_equals_python_on_real_ticks_of_three_symbols(
    exported: tuple[Path, LeanSource],
) -> None:
    model, source = exported
    props = {p.key: json.loads(p.value) for p in onnx.load(str(model)).metadata_props}
    assert props["ash.context_symbol"] == CONTEXT
    assert props["ash.bar_columns"][-5:] == [
        "ctx_close",
        "ctx_mid",
        "ctx_volume",
        "ctx_buy_volume",
        "ctx_sell_volume",
    ]
    feeds = {s: _feed(source, s) for s in [*SERVED, CONTEXT]}
    # `ash replay RUN`: the run's own source and session; the context's ticks are added.
    argv = [sys.executable, "-m", "ash.cli.main", "replay", str(model.parent)]
    argv += ["--start", REPLAY[0].isoformat(), "--end", REPLAY[1].isoformat()]
    argv += ["--symbols", ",".join(SERVED)]
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Rust equals Python" in done.stdout, done.stdout
    assert "AIG" in done.stdout and "BAC" in done.stdout

    result = replay_ticks(model, feeds)
    # Every symbol, the context included, is served; its own ctx_* columns are its own bars.
    assert set(result.predictions_by_symbol) == {*SERVED, CONTEXT}
    assert all(n > 200 for n in result.predictions_by_symbol.values()), result
    assert result.bars_equal, result
    assert result.max_prob_diff <= 1e-5, result
    assert result.rejected == {}
    assert result.ticks == sum(len(t) + len(q) for t, q in feeds.values())

    # The ctx columns carry SPY (about $169), not the served symbol's own prices.
    spec, _, _ = model_bar_spec(model, None)
    spy = build_bars(*feeds[CONTEXT], spec=spec)
    aig = build_bars(*feeds["AIG"], spec=spec, context=spy)
    ctx_mid = aig.column("ctx_mid")
    assert ctx_mid.min() > 150 and np.array_equal(np.unique(ctx_mid), np.unique(spy.column("mid")))
    assert aig.column("mid").max() < 60


def test_context_model_served_without_the_context_ticks_or_symbol_is_refused(
    exported: tuple[Path, LeanSource], tmp_path: Path
) -> None:
    model, source = exported
    with pytest.raises(ReplayError, match="include its ticks"):
        replay_ticks(model, {"AIG": _feed(source, "AIG")})
    proto = onnx.load(str(model))
    kept = [p for p in proto.metadata_props if p.key != "ash.context_symbol"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    bare = tmp_path / "no_context_symbol.onnx"
    onnx.save(proto, str(bare))
    argv, env = build_command(bare, stdin=True, log_every=0)
    done = subprocess.run(argv, input="", env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "names no context symbol (ash.context_symbol)" in done.stderr
