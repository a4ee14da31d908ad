"""Per-horizon temperature scaling fitted on validation (LBFGS on log T).

``softmax(logits / T_h)`` keeps the ranking of buckets and only sharpens (T < 1) or flattens
(T > 1) each horizon's distribution, so it can fix over- or under-confidence without touching
the model's weights. The fitted T folds into the model's ``temperature`` buffer, which is part of
the exported graph.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

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
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(z / log_t.clamp(-LOG_T_BOUND, LOG_T_BOUND).exp(), y)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]
    return float(log_t.detach().clamp(-LOG_T_BOUND, LOG_T_BOUND).exp())
