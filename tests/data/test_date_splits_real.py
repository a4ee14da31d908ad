"""Date splits and pooled samples on real Lean data (BAC and IBM, 20 minutes of each of 3 days)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ash.config.resolve import load_experiment
from ash.data.date_splits import session_dates
from ash.paths import repo_root
from ash.pipeline import DataPipelineError, prepare_data

LEAN = repo_root().parent / "shared" / "data" / "lean-2013-10"
pytestmark = pytest.mark.skipif(not LEAN.is_dir(), reason="../shared/data/lean-2013-10 missing")
WINDOW = 20
CONFIG = f"""
name: lean_dates
data:
  source: {{kind: lean, path: {LEAN}}}
  symbols: [BAC, IBM]
bars: {{session: "15:00-15:20"}}
horizons: [1, 5, 30]
split:
  dates:
    train: ["2013-10-07..2013-10-08"]
    val: ["2013-10-08 15:10..15:20"]
    test: ["2013-10-09"]
model:
  steps: 8
  features: [{{kind: returns, lookbacks: [1, 5]}}]
  backbone: {{kind: gru, hidden: 8}}
  discretizer: {{kind: lattice, n_buckets: 21}}
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One experiments root for the module: the bars are built once, then read from its cache
    (the split is not part of the bars' fingerprint)."""
    return tmp_path_factory.mktemp("lean_dates")


def _resolved(root: Path, text: str = CONFIG) -> object:
    path = root / "lean_dates.yaml"
    path.write_text(text)
    return load_experiment(path)


def test_real_date_split_keeps_symbols_and_dates_apart(root: Path) -> None:
    prepared = prepare_data(_resolved(root), WINDOW, root)  # type: ignore[arg-type]
    data, parts = prepared.bars, prepared.samples
    tz = "America/New_York"
    dates = {n: set(session_dates(data.ts_ns[e], tz)) for n, e in parts.as_dict().items()}
    assert dates == {
        "train": {"2013-10-07", "2013-10-08"},
        "val": {"2013-10-08"},
        "test": {"2013-10-09"},
    }
    for ends in parts.as_dict().values():  # every part holds both symbols; no window crosses
        assert set(data.symbol_index[ends]) == {0, 1}
        assert (data.symbol_index[ends - WINDOW + 1] == data.symbol_index[ends]).all()
    # train on 10-08 ends a purge (window + 30 s) before val starts, at 15:10 local
    val_start = pd.Timestamp("2013-10-08 15:10", tz=tz).value
    train_08 = parts.train[session_dates(data.ts_ns[parts.train], tz) == "2013-10-08"]
    last_target = data.ts_ns[train_08] + 30 * data.bar_ns
    assert len(train_08) and (last_target < val_start - (WINDOW - 1) * data.bar_ns).all()
    assert np.intersect1d(parts.train, parts.val).size == 0


def test_real_date_without_data_is_named(root: Path) -> None:
    text = CONFIG.replace('test: ["2013-10-09"]', 'test: ["2013-10-10"]')
    with pytest.raises(DataPipelineError, match=r"'2013-10-10' holds no sample.*2013-10-07"):
        prepare_data(_resolved(root, text), WINDOW, root)  # type: ignore[arg-type]
