"""Temperature scaling recovers a known over-confidence and lowers ECE."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ash.evaluate import metrics as m
from ash.train.calibration import (
    apply_temperature,
    cross_fit_horizon,
    fit_temperature,
    halves,
    shrink,
)


def _overconfident(n: int = 8000, k: int = 9, factor: float = 3.0) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(0)
    true_logits = torch.randn(n, 2, k, generator=gen)
    probs = torch.softmax(true_logits, -1)
    targets = torch.multinomial(probs.reshape(-1, k), 1, generator=gen).reshape(n, 2)
    scale = torch.tensor([factor, 1.0])  # horizon 0 over-confident, horizon 1 already calibrated
    return true_logits * scale[None, :, None], targets, torch.ones(n, 2, dtype=torch.bool)


def test_temperature_recovers_the_overconfidence_factor() -> None:
    logits, targets, mask = _overconfident()
    t = fit_temperature(logits, targets, mask)
    assert t[0].item() == pytest.approx(3.0, rel=0.1)
    assert t[1].item() == pytest.approx(1.0, rel=0.1)


def test_temperature_scaling_improves_ece_of_an_overconfident_model() -> None:
    logits, targets, mask = _overconfident()
    t = fit_temperature(logits, targets, mask)
    before = torch.softmax(logits, -1)[:, 0].numpy()
    after = apply_temperature(logits, t)[:, 0].numpy()
    y = targets[:, 0].numpy()
    assert m.ece(after, y) < 0.5 * m.ece(before, y)
    assert m.nll(after, y) < m.nll(before, y)


def test_masked_horizon_keeps_unit_temperature() -> None:
    logits, targets, mask = _overconfident(n=200)
    mask[:, 1] = False
    assert fit_temperature(logits, targets, mask)[1].item() == 1.0


def test_shape_mismatch_is_a_precise_error() -> None:
    with pytest.raises(ValueError, match=r"logits \[N, H, K\]"):
        fit_temperature(torch.zeros(3, 4), torch.zeros(3, 2), torch.ones(3, 2))


def test_apply_temperature_rows_sum_to_one() -> None:
    probs = apply_temperature(torch.randn(5, 3, 4), torch.tensor([0.5, 1.0, 2.0]))
    np.testing.assert_allclose(probs.sum(-1).numpy(), 1.0, rtol=1e-6)


def _sampled(logits: torch.Tensor, temperature: float, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=gen)[:, 0]


def test_cross_fit_keeps_a_calibration_that_holds_on_held_out_halves() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(4000, 11, generator=gen, dtype=torch.float64)
    y = _sampled(logits, 2.0, 1)  # the model is over-confident by T = 2 everywhere
    fit = cross_fit_horizon(logits, None, y)
    assert fit["shrink"] > 0 and fit["heldout_gain"] > 0
    assert fit["temperature"] == pytest.approx(2.0 ** fit["shrink"] * 1.0, rel=0.2)


def test_cross_fit_drops_a_calibration_the_halves_disagree_on() -> None:
    gen = torch.Generator().manual_seed(2)
    logits = 3 * torch.randn(4000, 11, generator=gen, dtype=torch.float64)
    in_a = halves(len(logits))
    # half A wants T = 3, half B T = 1/3: each half's fit hurts the other half
    y = torch.where(in_a, _sampled(logits, 3.0, 3), _sampled(logits, 1 / 3, 4))
    fit = cross_fit_horizon(logits, None, y)
    assert fit["shrink"] == 0.0
    assert (fit["weight"], fit["temperature"]) == (1.0, 1.0)


def test_shrink_moves_towards_the_identity() -> None:
    assert shrink(0.5, 4.0, 0.0) == (1.0, 1.0)
    assert shrink(0.5, 4.0, 1.0) == pytest.approx((0.5, 4.0))
    assert shrink(0.5, 4.0, 0.5) == pytest.approx((0.75, 2.0))
