"""data.options: true builds option-surface bar columns from the synthetic chain, end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ash.bars.columns import OPTION_COLUMNS
from ash.config import load_experiment
from ash.pipeline import build_bar_data

REPO = Path(__file__).resolve().parents[2]


def test_option_surface_columns_come_from_the_chain() -> None:
    resolved = load_experiment(REPO / "configs" / "options_with.yaml", ["data.source.n_days=1"])
    data = build_bar_data(resolved, "test")
    assert data.columns[-len(OPTION_COLUMNS) :] == OPTION_COLUMNS
    atm = data.values[:, data.columns.index("atm_iv_30d")]
    # Snapshots come every minute; after the first, the ATM IV is a plausible annual vol.
    later = atm[120:]
    assert np.isfinite(later).all()
    assert 0.02 < float(np.median(later)) < 2.0
    # The surface moves through the day (IVs follow the simulator's expected variance).
    assert np.unique(np.round(later, 6)).size > 10
    skew = data.values[120:, data.columns.index("iv_k090_30d")] - later
    assert float(np.median(skew)) > 0, "downside strikes carry the simulator's skew"
