"""The ensemble as a torch module (Python predictions) and its per-horizon mixture weights."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ash.model import AshModel

EM_ITERATIONS = 500


class EnsembleModel(nn.Module):
    """``bars[B, W, C]`` → ``(Σ_i w[h, i] · probs_i, edges of the first member)``; each member
    reads the last ``member.window`` bars of the ensemble's window (the largest)."""

    weights: torch.Tensor

    def __init__(self, members: list[AshModel], weights: np.ndarray) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.ctx = members[0].ctx
        self.horizons = members[0].horizons
        self.n_buckets = members[0].n_buckets
        self.window = max(m.window for m in members)
        if weights.shape != (len(self.horizons), len(members)):
            raise ValueError(f"weights must be [horizons, members], got {weights.shape}")
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float32))

    def forward(self, bars: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        width = bars.shape[1]
        mixture: torch.Tensor | None = None
        edges: torch.Tensor | None = None
        for i, member in enumerate(self.members):
            assert isinstance(member, AshModel)
            probs, member_edges = member(bars[:, width - member.window :])
            part = self.weights[:, i].view(1, -1, 1) * probs
            mixture = part if mixture is None else mixture + part
            edges = member_edges if edges is None else edges
        assert mixture is not None and edges is not None
        return mixture, edges


def fit_weights(target_probs: np.ndarray, iterations: int = EM_ITERATIONS) -> np.ndarray:
    """Mixture weights ``[M]`` maximising the mean log-likelihood of ``target_probs[N, M]``
    (each member's probability of the realised bucket) — EM, which keeps the weights on the
    simplex and never lowers the likelihood."""
    n, m = target_probs.shape
    if n == 0:
        raise ValueError("no validation targets to fit the ensemble weights on")
    p = np.maximum(target_probs.astype(np.float64), 1e-300)
    w = np.full(m, 1.0 / m)
    for _ in range(iterations):
        joint = p * w
        w_new = (joint / joint.sum(1, keepdims=True)).mean(0)
        if np.abs(w_new - w).max() < 1e-9:
            w = w_new
            break
        w = w_new
    return np.asarray(w)
