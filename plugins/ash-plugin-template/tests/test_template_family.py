"""The template's model family: conformance, then trained from YAML, exported and served."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ash_plugin_template import SoftmaxRegression, SoftmaxRegressionConfig

from ash.config.resolve import resolve
from ash.export.run import export_run
from ash.export.validate import check_model
from ash.jobs.main_job import replay_test_stretch
from ash.registry import get_registry
from ash.runtime import find_serve_binary
from ash.testing import check_component
from ash.train import run_training

# A tiny synthetic market: two half-hour sessions, three horizons, 15 buckets.
EXPERIMENT = """
name: template-family
seed: 1
data:
  source: {kind: synthetic, n_days: 2, session_close: "10:00:00", options: false,
           context_symbol: null, oracle_samples: 8}
  symbols: [SYN]
bars: {session: "09:30-10:00"}
horizons: [1, 5, 30]
model:
  steps: 8
  features:
    - {kind: returns, lookbacks: [1, 5, 10]}
    - {kind: realized_vol, windows: [10, 30]}
  backbone: {kind: gru, hidden: 8}          # unused by a fitted family; the schema asks for one
  discretizer: {kind: log_return, n_buckets: 15, range_bps: 10.0}
  prior: {kind: ewma_gaussian, lookback_bars: 40}
  family: {kind: softmax_regression, rounds: 5, iterations: 5}
train: {max_train_samples: 2000, max_val_samples: 500, threads: 1}
"""


def test_family_passes_ash_conformance_kit() -> None:
    check_component(SoftmaxRegression, SoftmaxRegressionConfig(rounds=5, iterations=5))


def test_family_found_through_the_registry() -> None:
    assert get_registry().get("family", "softmax_regression") is SoftmaxRegression


def test_family_trains_from_yaml_exports_and_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASH_EXPERIMENTS", str(tmp_path))
    resolved = resolve(yaml.safe_load(EXPERIMENT))
    run = run_training(resolved, progress=False)
    assert isinstance(run.model.family, SoftmaxRegression)
    done = export_run(run.run_dir, optimize=False)
    check_model(done.result.path)
    assert done.parity is not None and done.parity.ok
    if find_serve_binary() is None:
        pytest.skip("ash-serve is not built (cargo build --release in inference-rs/)")
    replayed = replay_test_stretch(resolved, run.run_dir, run.model.window)
    assert replayed.bars_equal and replayed.predictions > 0
    assert replayed.max_prob_diff <= 1e-5
