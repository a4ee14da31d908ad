"""The in-graph EWMA-Gaussian prior: against an independent numpy reference, zero-init heads,
fitted scale and tick, causality, export parity, and residual calibration."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ash.components.backbones import TransformerBackbone
from ash.components.discretizers import LogReturnDiscretizer
from ash.components.features import RealizedVol, Returns
from ash.config.schema import PriorConfig
from ash.evaluate.baselines import gaussian_bucket_probs, snap_to_lattice
from ash.export.contract import PARITY_TOLERANCE
from ash.export.exporter import export_model
from ash.export.fixtures import SERVING_METADATA
from ash.export.parity import check_parity
from ash.export.validate import validate_model
from ash.model import AshModel, build_model
from ash.prior import (
    EwmaGaussianPrior,
    _bucket_masses,
    _half_erfc,
    fit_bucket_bias,
    prior_summary,
)
from ash.testing import default_context, make_bars
from ash.train.calibration import fit_residual_calibration

CTX = default_context()
LOOKBACK = 60
DECAY = 0.95


def prior_model(**prior: object) -> AshModel:
    config = PriorConfig(kind="ewma_gaussian", decay=DECAY, lookback_bars=LOOKBACK, **prior)
    return build_model(
        CTX,
        8,
        [(Returns, Returns.Config(lookbacks=(1, 5))), (RealizedVol, RealizedVol.Config())],
        (TransformerBackbone, TransformerBackbone.Config(d_model=16, n_layers=1, n_heads=2)),
        (LogReturnDiscretizer, LogReturnDiscretizer.Config(n_buckets=21)),
        prior=config,
    )


def numpy_prior(bars: np.ndarray, model: AshModel, col: int) -> np.ndarray:
    """The same forecast written independently: an explicit EWMA recursion, the evaluator's
    lattice snapping and Gaussian bucket mass."""
    prior = model.prior
    assert isinstance(prior, EwmaGaussianPrior)
    price = bars[:, -(LOOKBACK + 1) :, col].astype(np.float64)
    var = np.full(len(bars), float(prior.init_var))
    for j in range(LOOKBACK):
        r = 1e4 * np.log(price[:, j + 1] / price[:, j])
        var = DECAY * var + (1 - DECAY) * r * r
    steps = np.asarray(CTX.horizon_bars(), dtype=np.float64)
    scales = np.exp(prior.log_scale.detach().double().numpy())
    sigma = scales[None, :] * np.sqrt(var[:, None] * steps[None, :])
    edges = model.edges(torch.as_tensor(bars)).detach().double().numpy()
    step_bps = 1e4 * float(prior.tick) / price[:, -1]
    snapped = snap_to_lattice(edges, step_bps[:, None, None])
    snapped[..., 0], snapped[..., -1] = edges[..., 0], edges[..., -1]
    return gaussian_bucket_probs(snapped, sigma)


def test_untrained_model_is_the_prior_and_matches_an_independent_reference() -> None:
    model = prior_model().eval()
    train = make_bars(64, model.window, CTX.bar_columns, seed=3)
    model.fit_normalization(train)
    prior = model.prior
    assert isinstance(prior, EwmaGaussianPrior)
    assert float(prior.tick) == pytest.approx(0.005, rel=1e-3)  # the half-cent mid lattice
    bars = make_bars(16, model.window, CTX.bar_columns, seed=4)
    with torch.no_grad():
        probs, _ = model(bars)
    reference = numpy_prior(bars.numpy(), model, CTX.column("mid"))
    # float32 graph vs float64 reference
    assert np.abs(probs.double().numpy() - reference).max() < 2e-5
    # Buckets between reachable prices get only the floor: the lattice is in the graph.
    assert (probs[:, 0] < 1e-3).sum() > 0


def test_fit_recovers_a_known_scale_per_horizon() -> None:
    model = prior_model(lattice=False).eval()  # continuous returns: no lattice to snap to
    prior = model.prior
    assert isinstance(prior, EwmaGaussianPrior)
    windows = make_bars(2000, model.window, CTX.bar_columns, seed=5)
    model.fit_normalization(windows)
    sigma = prior.sigma(windows).double()
    true_scale = torch.linspace(0.7, 1.6, len(CTX.horizons), dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    returns = torch.randn(sigma.shape, generator=gen, dtype=torch.float64) * sigma * true_scale
    model.fit_normalization(windows, returns_bps=returns)
    fitted = torch.exp(prior.log_scale.detach()).double()
    assert torch.allclose(fitted, true_scale, rtol=0.08)
    assert prior_summary(prior)["scales"] == pytest.approx(fitted.tolist())


def test_prior_reads_only_the_window_it_is_given() -> None:
    model = prior_model().eval()
    model.fit_normalization(make_bars(32, model.window, CTX.bar_columns, seed=6))
    long = make_bars(4, model.window + 50, CTX.bar_columns, seed=7)
    window = long[:, : model.window]
    changed = long.clone()
    changed[:, model.window :] *= 1.01  # the future moves; the prediction must not
    probs_a, _ = model(window)
    probs_b, _ = model(changed[:, : model.window])
    assert torch.equal(probs_a, probs_b)
    # ... and the past does matter: a calmer history tightens the forecast
    calm = window.clone()
    mid = CTX.column("mid")
    calm[:, :, mid] = window[:, -1:, mid]
    assert not torch.allclose(model(calm)[0], probs_a)


def trained_looking(model: AshModel) -> AshModel:
    """A random head and non-default calibration instead of the zero init, in eval mode: what
    a parity test must hold for, not only the prior alone."""
    assert model.head is not None
    with torch.no_grad():
        for p in model.head.parameters():
            p.normal_(0.0, 0.05)
        model.residual_weight.fill_(0.7)
        model.temperature.fill_(1.1)
    return model.eval()


def test_a_prior_model_exports_within_parity(tmp_path: Path) -> None:
    model = prior_model()
    model.fit_normalization(make_bars(64, model.window, CTX.bar_columns, seed=8))
    trained_looking(model)
    result = export_model(model, tmp_path / "m.onnx", metadata=SERVING_METADATA, optimize=True)
    assert validate_model(result.path) == []
    windows = make_bars(48, model.window, CTX.bar_columns, seed=9)
    assert check_parity(model, result.path, windows).max_abs_diff <= PARITY_TOLERANCE


def test_residual_calibration_shrinks_noise_and_keeps_signal() -> None:
    gen = torch.Generator().manual_seed(1)
    n, k = 6000, 11
    prior = torch.log_softmax(torch.randn(n, 2, k, generator=gen), -1)
    signal = torch.randn(n, 2, k, generator=gen)
    true = torch.softmax(prior + signal, -1)
    targets = torch.multinomial(true.reshape(-1, k), 1, generator=gen).reshape(n, 2)
    head = signal.clone()
    head[:, 1] = torch.randn(n, k, generator=gen)  # horizon 1: a head that learned only noise
    mask = torch.ones(n, 2, dtype=torch.bool)
    weight, temperature = fit_residual_calibration(head, prior, targets, mask)
    assert weight[0].item() > 0.9
    assert weight[1].item() < 0.1
    assert temperature[0].item() == pytest.approx(1.0, abs=0.1)
    assert math.isfinite(temperature[1].item())


def test_unknown_prior_kind_is_a_clear_config_error() -> None:
    with pytest.raises(ValueError, match="ewma_gaussian"):
        PriorConfig.model_validate({"kind": "garch"})
    with pytest.raises(ValueError, match="decay"):
        PriorConfig.model_validate({"kind": "ewma_gaussian", "decay": 1.5})


def test_a_prior_model_without_lattice_and_fixed_price_column() -> None:
    model = prior_model(lattice=False, price_column="close").eval()
    model.fit_normalization(make_bars(32, model.window, CTX.bar_columns, seed=10))
    assert float(model.prior.tick) == 0.0  # type: ignore[union-attr,arg-type]
    probs, _ = model(make_bars(4, model.window, CTX.bar_columns, seed=11))
    assert torch.isfinite(probs).all() and (probs > 0).all()
    with pytest.raises(KeyError, match="not_a_column"):
        prior_model(price_column="not_a_column")


def test_bucket_bias_recovers_frequencies_the_prior_gets_wrong() -> None:
    gen = torch.Generator().manual_seed(2)
    n, k = 20000, 7
    truth = torch.tensor([0.02, 0.05, 0.1, 0.66, 0.1, 0.05, 0.02])  # mostly "no move"
    ids = torch.multinomial(truth, n, replacement=True, generator=gen).reshape(n, 1)
    wide = torch.log_softmax(torch.zeros(n, 1, k), -1)  # a prior that spreads mass evenly
    bias = fit_bucket_bias(wide, ids)
    fitted = torch.softmax(wide[0] + bias, -1)[0]
    assert torch.allclose(fitted, truth, atol=0.01)
    # a missing target (-1) is ignored, not counted as bucket 0
    ids[:5000] = -1
    again = torch.softmax(wide[0] + fit_bucket_bias(wide, ids), -1)[0]
    assert torch.allclose(again, truth, atol=0.015)


def test_calibrating_a_prior_model_needs_the_priors_log_probabilities() -> None:
    from ash.scoring import score_windows
    from ash.train.calibration import calibrate

    def model(prior: PriorConfig | None) -> AshModel:
        return build_model(
            CTX,
            8,
            [(Returns, Returns.Config(lookbacks=(1, 5)))],
            (TransformerBackbone, TransformerBackbone.Config(d_model=16, n_layers=1, n_heads=2)),
            (LogReturnDiscretizer, LogReturnDiscretizer.Config(n_buckets=21)),
            prior=prior,
        )

    plain = model(None)
    bars = make_bars(1, plain.window + 10, CTX.bar_columns, seed=12)[0]
    returns = torch.zeros(len(bars), len(CTX.horizons), dtype=torch.float64)
    ends = np.array([plain.window, plain.window + 3])
    scores = score_windows(plain, bars, returns, ends, batch_size=8, logits="parts")
    assert scores.head is not None and scores.prior is None  # no prior: nothing stacked
    with pytest.raises(ValueError, match="needs the prior's log-probabilities"):
        calibrate(model(PriorConfig(kind="ewma_gaussian", lookback_bars=8)), scores, CTX.horizons)
    with pytest.raises(ValueError, match="logits='parts'"):
        calibrate(plain, score_windows(plain, bars, returns, ends, batch_size=8), CTX.horizons)


def test_half_erfc_is_as_accurate_as_the_fit_in_float32() -> None:
    """The Pow/MatMul evaluation of ½·erfc keeps the Chebyshev fit's accuracy (float32)."""
    z = torch.linspace(-8.0, 8.0, 20001)
    reference = torch.tensor([0.5 * math.erfc(abs(float(v))) for v in z], dtype=torch.float64)
    relative = (_half_erfc(z).double() / reference - 1.0).abs()
    assert float(relative[z.abs() <= 2].max()) < 1e-6
    assert float(relative.max()) < 1e-5
    assert float(_half_erfc(torch.tensor([1e4, -1e6])).max()) == 0.0  # open ends: no NaN


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-6.0, 6.0, width=32), min_size=2, max_size=12, unique=True),
    st.booleans(),
)
def test_bucket_masses_are_tail_differences_on_both_sides_of_zero(
    inner: list[float], with_zero: bool
) -> None:
    """Masses match float64 erfc differences (an edge exactly at 0 included) to float32
    rounding of ½ (a bucket beside an edge at 0 is ½ − a tail; the prior clamps at 0) and sum
    to 1 with the open-ended outer buckets."""
    edges = sorted({*inner, *([0.0] if with_zero else [])})
    z = torch.tensor([-1e4, *edges, 1e4], dtype=torch.float32)
    masses = _bucket_masses(z[None]).double()[0]
    upper = torch.tensor([0.5 * math.erfc(float(v)) for v in z], dtype=torch.float64)
    expected = upper[:-1] - upper[1:]
    assert torch.allclose(masses, expected, rtol=1e-5, atol=2.5e-7)
    assert float(masses.min()) >= -2.5e-7
    assert abs(float(masses.sum()) - 1.0) < 1e-6
