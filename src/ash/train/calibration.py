"""Per-horizon temperature scaling fitted on validation (LBFGS on log T).

Models with a prior (:mod:`ash.prior`) also get a per-horizon *residual weight* ``w``:
``softmax((w·head + log p_prior) / T)``. ``w`` < 1 shrinks a correction that does not generalise
from training to validation (long horizons, where the target is noisy) back towards the prior.

``softmax(logits / T_h)`` keeps the ranking of buckets and only sharpens (T < 1) or flattens
(T > 1) each horizon's distribution, so it can fix over- or under-confidence without touching
the model's weights. The fitted T folds into the model's ``temperature`` buffer, which is part of
the exported graph.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ash.fitting import lbfgs_minimize
from ash.model import AshModel
from ash.scoring import Scores, nll_metrics, nll_sums

LOG_T_BOUND = 5.0  # T in [e^-5, e^5]: beyond that the model is broken, not mis-calibrated


def fit_temperature(
    logits: torch.Tensor,
    targets: torch.Tensor,
    mask: torch.Tensor,
    *,
    max_iter: int = 100,
) -> torch.Tensor:
    """Temperatures ``[H]`` minimising the validation NLL of ``softmax(logits / T)``.

    ``logits[N, H, K]``, integer ``targets[N, H]``, boolean ``mask[N, H]``. A horizon without any
    valid target keeps T = 1.
    """
    if logits.ndim != 3 or targets.shape != logits.shape[:2] or mask.shape != targets.shape:
        raise ValueError(
            f"fit_temperature: logits [N, H, K], targets and mask [N, H] expected; got "
            f"{tuple(logits.shape)}, {tuple(targets.shape)}, {tuple(mask.shape)}"
        )
    z = logits.detach().to(torch.float64)
    n_horizons = z.shape[1]
    temps = torch.ones(n_horizons, dtype=torch.float64)
    for h in range(n_horizons):
        used = mask[:, h].bool()
        if not used.any():
            continue
        temps[h] = _fit_one(z[used, h], targets[used, h].long(), max_iter)
    return temps.to(torch.float32)


def apply_temperature(logits: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
    """Probabilities ``softmax(logits / T)`` with ``T[H]`` broadcast over ``[N, H, K]``."""
    return torch.softmax(logits / temperature.to(logits.dtype)[None, :, None], dim=-1)


def _fit_one(z: torch.Tensor, y: torch.Tensor, max_iter: int) -> float:
    """The temperature of one horizon: LBFGS on log T (positive T, well-conditioned)."""
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    lbfgs_minimize(
        log_t,
        lambda: F.cross_entropy(z / log_t.clamp(-LOG_T_BOUND, LOG_T_BOUND).exp(), y),
        max_iter=max_iter,
        lr=0.5,
    )
    return float(log_t.detach().clamp(-LOG_T_BOUND, LOG_T_BOUND).exp())


def fit_residual_calibration(
    head: torch.Tensor,
    prior: torch.Tensor,
    targets: torch.Tensor,
    mask: torch.Tensor,
    *,
    max_iter: int = 100,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Residual weights and temperatures ``[H]`` minimising the validation NLL of
    ``softmax((w·head + prior) / T)``. ``w`` is kept in (0, 1): calibration may shrink a
    correction towards the prior but never amplify it (amplifying fitted validation-period drift
    at long horizons and lost on test)."""
    if head.shape != prior.shape or head.ndim != 3 or targets.shape != head.shape[:2]:
        raise ValueError(
            f"fit_residual_calibration: head and prior [N, H, K], targets [N, H] expected; got "
            f"{tuple(head.shape)}, {tuple(prior.shape)}, {tuple(targets.shape)}"
        )
    n_horizons = head.shape[1]
    weights = torch.ones(n_horizons, dtype=torch.float64)
    temps = torch.ones(n_horizons, dtype=torch.float64)
    for h in range(n_horizons):
        used = mask[:, h].bool()
        if not used.any():
            continue
        z_head = head[used, h].detach().double()
        z_prior = prior[used, h].detach().double()
        weights[h], temps[h] = _fit_weight_and_temperature(
            z_head, z_prior, targets[used, h].long(), max_iter
        )
    return weights.float(), temps.float()


def _fit_weight_and_temperature(
    head: torch.Tensor, prior: torch.Tensor, y: torch.Tensor, max_iter: int
) -> tuple[float, float]:
    # w = sigmoid(u) keeps the weight in (0, 1) with a gradient everywhere (a clamp would stall
    # LBFGS on its boundary); start near 1, i.e. near the trained model.
    params = torch.tensor([4.0, 0.0], dtype=torch.float64, requires_grad=True)  # u, log T

    def constrained() -> tuple[torch.Tensor, torch.Tensor]:
        return torch.sigmoid(params[0]), params[1].clamp(-LOG_T_BOUND, LOG_T_BOUND)

    def loss() -> torch.Tensor:
        w, log_t = constrained()
        return F.cross_entropy((w * head + prior) / log_t.exp(), y)

    lbfgs_minimize(params, loss, max_iter=max_iter, lr=0.5)
    w, log_t = constrained()
    return float(w.detach()), float(log_t.detach().exp())


def calibrate(model: AshModel, scores: Scores, horizons: tuple[float, ...]) -> dict[str, float]:
    """Fit the model's calibration on validation ``scores`` (``logits="parts"``) and write it into
    the model's ``temperature`` (and ``residual_weight``) buffers.

    Returns the validation NLL after calibration (``nll_h*``, ``nll``), before it
    (``*_uncalibrated``) and, with a prior, the fitted ``residual_weight_h*``.
    """
    if scores.head is None:
        raise ValueError("calibrate needs validation scores with logits='parts'")
    head, prior, targets, mask = scores.head, scores.prior, scores.targets, scores.mask
    if model.prior is None:
        before = nll_metrics(nll_sums(head, targets, mask), horizons)
        factor = fit_temperature(head, targets, mask)
        with torch.no_grad():
            model.temperature.mul_(factor.to(model.temperature.device))
        after = nll_metrics(nll_sums(head / factor[None, :, None], targets, mask), horizons)
    else:
        if prior is None:
            raise ValueError(
                "calibrating a model with a prior needs the prior's log-probabilities: score the "
                "validation windows with logits='parts'"
            )
        before = nll_metrics(nll_sums(head + prior, targets, mask), horizons)
        weight, factor = fit_residual_calibration(head, prior, targets, mask)
        with torch.no_grad():
            model.residual_weight.copy_(weight.to(model.temperature.device))
            model.temperature.copy_(factor.to(model.temperature.device))
        combined = (weight[None, :, None] * head + prior) / factor[None, :, None]
        after = nll_metrics(nll_sums(combined, targets, mask), horizons)
        for seconds, w in zip(horizons, weight.tolist(), strict=True):
            after[f"residual_weight_h{seconds:g}"] = float(w)
    return {**after, **{f"{k}_uncalibrated": v for k, v in before.items()}}
