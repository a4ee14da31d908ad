"""Per-horizon temperature scaling fitted on validation (LBFGS on log T).

Models with a prior (:mod:`ash.prior`) also get a per-horizon *residual weight* ``w``:
``softmax((w·head + log p_prior) / T)``. ``w`` < 1 shrinks a correction that does not generalise
from training to validation (long horizons, where the target is noisy) back towards the prior.

``softmax(logits / T_h)`` keeps the ranking of buckets and only sharpens (T < 1) or flattens
(T > 1) each horizon's distribution, so it can fix over- or under-confidence without touching
the model's weights. The fitted T folds into the model's ``temperature`` buffer, which is part of
the exported graph.

Calibration must hold on days it was not fitted on (a temperature fitted on one validation day
made test ECE worse at 1-30 s on SPY), so :func:`calibrate` does not apply the validation fit
as it is. Per horizon it cross-fits on two interleaved halves of the validation samples (20
contiguous blocks, alternately A and B: both halves span every symbol and the whole period),
scores each half under the other half's fit shrunk towards the identity (``w = 1``, ``T = 1``) by
a factor λ ∈ {0, ¼, ½, ¾, 1}, and keeps the λ of least held-out NLL. The fit on all validation
samples is then applied shrunk by that λ; λ = 0 (no calibration) wherever no shrunk fit improves
held-out NLL. One fit serves every symbol of a pooled run (pooling is the shrinkage across
symbols: a per-symbol temperature would fit a few thousand samples each).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ash.fitting import lbfgs_minimize
from ash.model import AshModel
from ash.scoring import Scores, nll_metrics, nll_sums

LOG_T_BOUND = 5.0  # T in [e^-5, e^5]: beyond that the model is broken, not mis-calibrated
SHRINK_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)  # λ: share of the fitted calibration applied
CROSS_FIT_BLOCKS = 20  # interleaved contiguous blocks, alternately in half A and half B


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


def halves(n: int, blocks: int = CROSS_FIT_BLOCKS) -> torch.Tensor:
    """Boolean ``[n]``: True for half A (even blocks of ``blocks`` contiguous ones), else B."""
    block = np.arange(n) * blocks // max(n, 1)
    return torch.as_tensor(block % 2 == 0)


def shrink(weight: float, temperature: float, lam: float) -> tuple[float, float]:
    """A calibration ``(w, T)`` moved a share ``1 − λ`` back towards the identity (1, 1)."""
    return 1.0 - lam * (1.0 - weight), float(np.exp(lam * np.log(temperature)))


def _nll(
    head: torch.Tensor, prior: torch.Tensor | None, y: torch.Tensor, w: float, t: float
) -> float:
    """Summed NLL of ``softmax((w·head + prior) / T)`` (no prior: ``softmax(head / T)``)."""
    z = head * w + prior if prior is not None else head
    return float(F.cross_entropy(z / t, y, reduction="sum"))


def _fit(head: torch.Tensor, prior: torch.Tensor | None, y: torch.Tensor) -> tuple[float, float]:
    if prior is None:
        return 1.0, _fit_one(head, y, 100)
    return _fit_weight_and_temperature(head, prior, y, 100)


def cross_fit_horizon(
    head: torch.Tensor, prior: torch.Tensor | None, y: torch.Tensor
) -> dict[str, float]:
    """One horizon's calibration (float64 ``head``/``prior`` ``[N, K]``, targets ``[N]``): the
    full fit shrunk by the λ of least cross-fitted held-out NLL (see the module docstring)."""
    in_a = halves(len(y))
    parts = [(in_a, ~in_a), (~in_a, in_a)]
    if int(in_a.sum()) < 2 or int((~in_a).sum()) < 2:
        return {"weight": 1.0, "temperature": 1.0, "shrink": 0.0, "heldout_gain": 0.0}
    fits = [_fit(head[fit], prior[fit] if prior is not None else None, y[fit]) for fit, _ in parts]
    heldout = []
    for lam in SHRINK_GRID:
        total = 0.0
        for (_, held), (w, t) in zip(parts, fits, strict=True):
            sw, st = shrink(w, t, lam)
            total += _nll(head[held], prior[held] if prior is not None else None, y[held], sw, st)
        heldout.append(total / len(y))
    best = int(np.argmin(heldout))  # the first minimum: ties go to less calibration
    w, t = shrink(*_fit(head, prior, y), SHRINK_GRID[best])
    return {
        "weight": w,
        "temperature": t,
        "shrink": SHRINK_GRID[best],
        "heldout_gain": heldout[0] - heldout[best],
    }


def calibrate(model: AshModel, scores: Scores, horizons: tuple[float, ...]) -> dict[str, float]:
    """Fit the model's calibration on validation ``scores`` (``logits="parts"``), cross-fitted
    and shrunk (module docstring), and write it into the model's ``temperature`` (and, with a
    prior, ``residual_weight``) buffers.

    Returns the validation NLL after calibration (``nll_h*``, ``nll``), before it
    (``*_uncalibrated``), per horizon the chosen shrinkage ``calibration_shrink_h*`` (0: not
    calibrated) and held-out NLL gain ``calibration_heldout_gain_h*`` (nats/sample), and with a
    prior the ``residual_weight_h*``.
    """
    if scores.head is None:
        raise ValueError("calibrate needs validation scores with logits='parts'")
    head, prior, targets, mask = scores.head, scores.prior, scores.targets, scores.mask
    if model.prior is not None and prior is None:
        raise ValueError(
            "calibrating a model with a prior needs the prior's log-probabilities: score the "
            "validation windows with logits='parts'"
        )
    use_prior = prior if model.prior is not None else None
    n_h = head.shape[1]
    weight = torch.ones(n_h, dtype=torch.float64)
    factor = torch.ones(n_h, dtype=torch.float64)
    extra: dict[str, float] = {}
    for h, seconds in enumerate(horizons):
        used = mask[:, h].bool()
        if not used.any():
            continue
        fit = cross_fit_horizon(
            head[used, h].detach().double(),
            use_prior[used, h].detach().double() if use_prior is not None else None,
            targets[used, h].long(),
        )
        weight[h], factor[h] = fit["weight"], fit["temperature"]
        extra[f"calibration_shrink_h{seconds:g}"] = fit["shrink"]
        extra[f"calibration_heldout_gain_h{seconds:g}"] = fit["heldout_gain"]
    w, t = weight.float()[None, :, None], factor.float()[None, :, None]
    if use_prior is None:
        before = nll_metrics(nll_sums(head, targets, mask), horizons)
        with torch.no_grad():
            model.temperature.mul_(factor.float().to(model.temperature.device))
        after = nll_metrics(nll_sums(head / t, targets, mask), horizons)
    else:
        before = nll_metrics(nll_sums(head + use_prior, targets, mask), horizons)
        with torch.no_grad():
            model.residual_weight.copy_(weight.float().to(model.temperature.device))
            model.temperature.copy_(factor.float().to(model.temperature.device))
        after = nll_metrics(nll_sums((w * head + use_prior) / t, targets, mask), horizons)
        for seconds, value in zip(horizons, weight.tolist(), strict=True):
            after[f"residual_weight_h{seconds:g}"] = float(value)
    return {**after, **extra, **{f"{k}_uncalibrated": v for k, v in before.items()}}
