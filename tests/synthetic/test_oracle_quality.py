"""The oracle beats climatology at every horizon and is calibrated (ECE and randomized PIT).

Samples at each horizon are bar ends at least ``h`` apart, so the realized targets are
independent given the oracle's information: the standard error of the mean log-likelihood gain,
the KS p-value of the PIT and the null distribution of the ECE (outcomes redrawn from the
oracle's own probabilities) are then honest. A deliberately miscalibrated forecast must fail
the same checks (the checks have power).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from ash.synthetic.config import SyntheticConfig
from ash.synthetic.oracle import Oracle, bucketize
from ash.synthetic.simulator import Simulator
from ash.synthetic.validate import (
    DEFAULT_HORIZONS,
    HorizonReport,
    bar_ends,
    classwise_ece,
    ece_null,
    evaluate,
    ks_uniform_pvalue,
    randomized_pit,
    uniform_edges,
)

CFG = SyntheticConfig(n_days=20, seed=5, options=False)


@pytest.fixture(scope="module")
def reports() -> list[HorizonReport]:
    return evaluate(CFG, DEFAULT_HORIZONS, train_days=4, max_rows=1200, seed=1)


def test_oracle_beats_climatology_clearly_at_every_horizon(reports: list[HorizonReport]) -> None:
    assert [r.horizon_s for r in reports] == list(DEFAULT_HORIZONS)
    for r in reports:
        gain = r.oracle_ll - r.climatology_ll
        assert gain > 0.02 and gain > 3 * r.gain_se, r


def test_oracle_is_calibrated(reports: list[HorizonReport]) -> None:
    for r in reports:
        assert r.n >= 300, r
        # no worse than sampling noise alone; 8 horizons × 2 tests at 1e-3: family level < 2 %
        assert r.ece_p > 1e-3, r
        assert r.ks_p > 1e-3, r


def test_monte_carlo_error_is_small(reports: list[HorizonReport]) -> None:
    for r in reports:
        assert r.mc_stderr < 2e-3, r


def _temper(p: np.ndarray, power: float) -> np.ndarray:
    q = p**power
    return q / q.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("power", [0.6, 1.6])
def test_the_calibration_checks_reject_a_miscalibrated_forecast(power: float) -> None:
    cfg = SyntheticConfig(n_days=3, seed=2, session_close=dt.time(12, 0), options=False)
    sim = Simulator(cfg)
    oracle = Oracle(sim)
    rng = np.random.default_rng(0)
    ts = bar_ends(sim, range(3), 10.0)
    edges = uniform_edges([10], len(ts))
    k = bucketize(oracle.realized_returns("SYN", ts, [10]), edges)[:, 0]
    probs = oracle.probabilities("SYN", ts, [10], edges)[:, 0]
    ok = k >= 0
    bad = _temper(probs[ok], power)  # too wide (0.6) or too sharp (1.6)
    _, p_bad = ks_uniform_pvalue(randomized_pit(bad, k[ok], rng))
    ece_bad = classwise_ece(bad, k[ok])
    null_bad = ece_null(bad, 10, rng, 1000)
    ece_p_bad = (1 + (null_bad >= ece_bad).sum()) / (1 + len(null_bad))
    assert p_bad < 1e-3 or ece_p_bad < 1e-3, (p_bad, ece_bad, ece_p_bad)
    # the true probabilities pass the same checks on the same outcomes
    _, p_true = ks_uniform_pvalue(randomized_pit(probs[ok], k[ok], rng))
    assert p_true > 1e-3
