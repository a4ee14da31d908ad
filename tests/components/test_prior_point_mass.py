"""The prior's point mass at the zero-return bucket (``model.prior.point_mass``): against an
independent numpy reference, weight recovery, adaptation to quiet windows, export parity and its
node cost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ash.config.schema import PriorConfig
from ash.export.contract import PARITY_TOLERANCE
from ash.export.exporter import export_model
from ash.export.fixtures import SERVING_METADATA
from ash.export.parity import check_parity
from ash.model import AshModel
from ash.prior import EwmaGaussianPrior, prior_summary
from ash.testing import graph_size, make_bars
from tests.components.test_prior import (
    CTX,
    DECAY,
    LOOKBACK,
    numpy_prior,
    prior_model,
    trained_looking,
)

POINT_MASS_NODE_BUDGET = 16
"""Nodes the point mass may add to a model's optimised graph (zero_fraction, the larger)."""


def numpy_zero_share(bars: np.ndarray, prior: EwmaGaussianPrior, col: int) -> np.ndarray:
    """The EWMA of zero 1-bar moves by an explicit recursion, seeded with the training share."""
    price = bars[:, -(LOOKBACK + 1) :, col].astype(np.float64)
    share = np.full(len(bars), float(prior.init_zero))
    for j in range(LOOKBACK):
        share = DECAY * share + (1 - DECAY) * (price[:, j + 1] == price[:, j])
    return share


def zero_bucket(edges: np.ndarray) -> np.ndarray:
    """1 where ``e_k <= 0 < e_{k+1}``: the bucket a zero return falls in."""
    return ((edges[..., :-1] <= 0) & (edges[..., 1:] > 0)).astype(np.float64)


def fitted(mode: str, zero_share: float = 0.6, seed: int = 3) -> AshModel:
    """A point-mass model fitted on windows whose forward returns are zero with ``zero_share``."""
    model = prior_model(point_mass=mode).eval()
    windows = make_bars(400, model.window, CTX.bar_columns, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    shape = (len(windows), len(CTX.horizons))
    returns = 2.0 * torch.randn(shape, generator=gen, dtype=torch.float64)
    returns[torch.rand(shape, generator=gen) < zero_share] = 0.0
    model.fit_normalization(windows, returns_bps=returns)
    return model


@pytest.mark.parametrize("mode", ["constant", "zero_fraction"])
def test_untrained_point_mass_model_matches_an_independent_reference(mode: str) -> None:
    model = fitted(mode)
    prior = model.prior
    assert isinstance(prior, EwmaGaussianPrior) and prior.point_param is not None
    bars = make_bars(16, model.window, CTX.bar_columns, seed=4)
    with torch.no_grad():
        logp = prior(bars, model.edges(bars)).double()
    floored = numpy_prior(bars.numpy(), model, CTX.column("mid"))
    k = floored.shape[-1]
    gauss = (floored - 1e-4 / k) / (1 - 1e-4)  # the reference's Gaussian before its floor
    params = prior.point_param.detach().double().numpy()
    if mode == "constant":
        weight = np.broadcast_to(1 / (1 + np.exp(-params)), (len(bars), len(params)))
    else:
        share = numpy_zero_share(bars.numpy(), prior, CTX.column("mid"))
        weight = share[:, None] ** np.exp(params)[None, :]
    edges = model.edges(bars).detach().double().numpy()
    mass = (1 - weight[..., None]) * gauss + weight[..., None] * zero_bucket(edges)
    reference = np.log((1 - 1e-4) * mass + 1e-4 / k)
    assert np.abs(np.exp(logp.numpy()) - np.exp(reference)).max() < 2e-5


def test_constant_point_mass_recovers_the_share_of_zero_returns() -> None:
    lattice_free = prior_model(point_mass="constant", lattice=False).eval()
    windows = make_bars(2000, lattice_free.window, CTX.bar_columns, seed=5)
    gen = torch.Generator().manual_seed(0)
    shape = (len(windows), len(CTX.horizons))
    truth = torch.linspace(0.1, 0.8, len(CTX.horizons), dtype=torch.float64)
    lattice_free.fit_normalization(windows)  # σ_h at scale 1, as the returns below are drawn
    assert lattice_free.prior is not None
    sigma = lattice_free.prior.sigma(windows).detach().double()
    returns = torch.randn(shape, generator=gen, dtype=torch.float64) * sigma
    returns[torch.rand(shape, generator=gen, dtype=torch.float64) < truth] = 0.0
    lattice_free.fit_normalization(windows, returns_bps=returns)
    weights = torch.tensor(prior_summary(lattice_free.prior)["point_weights"], dtype=torch.float64)
    # Close to the truth (grid step 0.024, a share's sampling error ~0.01, and the Gaussian
    # puts a little mass on the zero bucket too, traded off against its scale).
    assert torch.allclose(weights, truth, atol=0.06)


def test_zero_fraction_gives_quiet_windows_more_zero_mass() -> None:
    model = fitted("zero_fraction", zero_share=0.7)
    prior = model.prior
    assert isinstance(prior, EwmaGaussianPrior)
    busy = make_bars(4, model.window, CTX.bar_columns, seed=6)
    quiet = busy.clone()
    mid = CTX.column("mid")
    quiet[:, -LOOKBACK // 2 :, mid] = quiet[:, -LOOKBACK // 2 - 1 : -LOOKBACK // 2, mid]
    with torch.no_grad():
        w_busy, w_quiet = prior.point_weight(busy), prior.point_weight(quiet)
    assert bool((w_quiet > w_busy).all())
    assert bool(((w_busy >= 0) & (w_quiet <= 1)).all())


def test_point_mass_lowers_training_nll_on_mostly_zero_returns() -> None:
    gen = torch.Generator().manual_seed(7)
    nll = {}
    for mode in ("none", "constant", "zero_fraction"):
        model = prior_model(point_mass=mode).eval()
        windows = make_bars(600, model.window, CTX.bar_columns, seed=8)
        returns = 2.0 * torch.randn(600, len(CTX.horizons), generator=gen, dtype=torch.float64)
        returns[:450] = 0.0
        model.fit_normalization(windows, returns_bps=returns)
        with torch.no_grad():
            edges = model.edges(windows)
            assert model.prior is not None
            logp = model.prior(windows, edges)
        from ash.components.discretizers.base import bucketize

        ids = bucketize(returns.float(), edges)
        nll[mode] = float(-logp.gather(-1, ids.unsqueeze(-1)).mean())
    assert nll["constant"] < nll["none"] - 0.1
    assert nll["zero_fraction"] < nll["none"] - 0.1


@pytest.mark.parametrize("mode", ["constant", "zero_fraction"])
def test_a_point_mass_model_exports_within_parity(tmp_path: Path, mode: str) -> None:
    model = trained_looking(fitted(mode))
    result = export_model(model, tmp_path / "m.onnx", metadata=SERVING_METADATA, optimize=True)
    windows = make_bars(48, model.window, CTX.bar_columns, seed=9)
    assert check_parity(model, result.path, windows).max_abs_diff <= PARITY_TOLERANCE


def test_the_point_mass_costs_a_handful_of_nodes() -> None:
    bars = make_bars(2, prior_model().window, CTX.bar_columns, seed=0)
    sizes = {}
    for mode in ("none", "zero_fraction"):
        model = fitted(mode) if mode != "none" else prior_model()
        sizes[mode] = graph_size(
            model, bars, what=f"point_mass {mode}", output_names=("probs", "edges")
        ).optimized
    assert 0 < sizes["zero_fraction"] - sizes["none"] <= POINT_MASS_NODE_BUDGET


def test_unknown_point_mass_is_a_clear_config_error() -> None:
    with pytest.raises(ValueError, match="zero_fraction"):
        PriorConfig.model_validate({"kind": "ewma_gaussian", "point_mass": "spike"})
