"""Training losses on logits ``[B, H, K]`` against bucket targets, with per-horizon weights.

Every loss is a weighted mean of a per-(sample, horizon) score over the entries where ``mask`` is
true: ``Σ w_h·m_bh·ℓ_bh / Σ w_h·m_bh`` (0 when nothing is valid). Masked targets may hold any
value (e.g. −1 from :func:`~ash.components.discretizers.bucketize` for a missing return).
"""

from __future__ import annotations

from typing import Literal, TypeVar

import torch
import torch.nn.functional as F
from pydantic import Field

from ash.components.discretizers.base import centers
from ash.interfaces import ComponentConfig, Loss


class LossConfig(ComponentConfig):
    horizon_weights: tuple[float, ...] | None = Field(
        None, description="One non-negative weight per horizon (default: all 1)."
    )


LossConfigT = TypeVar("LossConfigT", bound=LossConfig)


class WeightedLoss(Loss[LossConfigT]):
    """Shared masking and per-horizon weighting; subclasses return per-entry scores ``[B, H]``."""

    weights: torch.Tensor

    def __init__(self, config: LossConfigT, n_horizons: int, n_buckets: int) -> None:
        super().__init__(config, n_horizons, n_buckets)
        weights = config.horizon_weights or (1.0,) * n_horizons
        if len(weights) != n_horizons or any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(
                f"{self.name}: horizon_weights needs {n_horizons} non-negative values with a "
                f"positive sum (one per horizon); got {list(weights)}"
            )
        self.register_buffer("weights", torch.tensor(weights, dtype=torch.float32))

    def scores(
        self, logits: torch.Tensor, targets: torch.Tensor, edges: torch.Tensor
    ) -> torch.Tensor:
        raise NotImplementedError

    def forward(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        edges: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        b, h, k = logits.shape
        if (h, k) != (self.n_horizons, self.n_buckets):
            raise ValueError(
                f"{self.name}: logits have {h} horizons × {k} buckets, the loss was built for "
                f"{self.n_horizons} × {self.n_buckets}"
            )
        if targets.shape != (b, h) or mask.shape != (b, h):
            raise ValueError(
                f"{self.name}: targets {tuple(targets.shape)} and mask {tuple(mask.shape)} must "
                f"both be {(b, h)}"
            )
        safe_targets = torch.where(mask, targets, torch.zeros_like(targets)).clamp(0, k - 1)
        per_entry = self.scores(logits.float(), safe_targets.long(), edges.float())
        w = self.weights.unsqueeze(0) * mask.float()
        per_entry = torch.where(mask, per_entry, torch.zeros_like(per_entry))
        return (per_entry * w).sum() / torch.clamp(w.sum(), min=1e-12)


class CrossEntropyConfig(LossConfig):
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0, description="Uniform label smoothing.")


class CrossEntropy(WeightedLoss[CrossEntropyConfig]):
    """Negative log-likelihood of the target bucket (the proper log score)."""

    name = "cross_entropy"

    def scores(
        self, logits: torch.Tensor, targets: torch.Tensor, edges: torch.Tensor
    ) -> torch.Tensor:
        smoothing = self.config.label_smoothing
        b, h, k = logits.shape
        return F.cross_entropy(
            logits.reshape(b * h, k),
            targets.reshape(b * h),
            reduction="none",
            label_smoothing=float(smoothing),
        ).reshape(b, h)


class SoftGaussianConfig(LossConfig):
    space: Literal["index", "bps"] = Field(
        "index", description="Distance between buckets: bucket index, or bps between centres."
    )
    sigma: float = Field(1.0, gt=0, description="Gaussian width (buckets or bps, per `space`).")


class SoftGaussian(WeightedLoss[SoftGaussianConfig]):
    """Cross-entropy against soft labels ``∝ exp(−d(k, y)² / 2σ²)`` around the target bucket.

    ``space="index"`` (default) is robust on a tick lattice; ``"bps"`` uses bucket centres
    (:func:`~ash.components.discretizers.centers`), so the smoothing follows uneven edges.
    """

    name = "soft_gaussian"

    def scores(
        self, logits: torch.Tensor, targets: torch.Tensor, edges: torch.Tensor
    ) -> torch.Tensor:
        cfg = self.config
        assert isinstance(cfg, SoftGaussianConfig)
        k = logits.shape[-1]
        if cfg.space == "index":
            pos = torch.arange(k, device=logits.device, dtype=logits.dtype).expand_as(logits)
        else:
            pos = centers(edges)
        target_pos = torch.gather(pos, -1, targets.unsqueeze(-1))
        soft = torch.softmax(-0.5 * ((pos - target_pos) / cfg.sigma) ** 2, dim=-1)
        return -(soft * torch.log_softmax(logits, dim=-1)).sum(dim=-1)


class RpsConfig(LossConfig):
    ce_weight: float = Field(
        0.0, ge=0.0, description="Weight of an added cross-entropy term (helps early training)."
    )


class RankedProbabilityScore(WeightedLoss[RpsConfig]):
    """Ranked probability score (ordinal / EMD on CDFs): ``Σ_k (F_k − 1[k ≥ y])² / (K − 1)``."""

    name = "rps"

    def scores(
        self, logits: torch.Tensor, targets: torch.Tensor, edges: torch.Tensor
    ) -> torch.Tensor:
        k = logits.shape[-1]
        cdf = torch.cumsum(torch.softmax(logits, dim=-1), dim=-1)[..., :-1]
        steps = torch.arange(k - 1, device=logits.device).expand_as(cdf)
        target_cdf = (steps >= targets.unsqueeze(-1)).to(cdf.dtype)
        rps = ((cdf - target_cdf) ** 2).sum(dim=-1) / (k - 1)
        ce_weight = self.config.ce_weight
        if ce_weight:
            nll = -torch.gather(torch.log_softmax(logits, -1), -1, targets.unsqueeze(-1))
            rps = rps + ce_weight * nll.squeeze(-1)
        return rps


class FocalConfig(LossConfig):
    gamma: float = Field(2.0, ge=0.0, description="Focusing exponent (0 = cross-entropy).")


class Focal(WeightedLoss[FocalConfig]):
    """Focal loss ``−(1 − p_y)^γ · log p_y``: down-weights buckets already predicted well."""

    name = "focal"

    def scores(
        self, logits: torch.Tensor, targets: torch.Tensor, edges: torch.Tensor
    ) -> torch.Tensor:
        gamma = self.config.gamma
        log_p = torch.gather(torch.log_softmax(logits, -1), -1, targets.unsqueeze(-1)).squeeze(-1)
        focal: torch.Tensor = -((1.0 - log_p.exp()).clamp(min=0.0) ** gamma) * log_p
        return focal


ALL_LOSSES = (CrossEntropy, SoftGaussian, RankedProbabilityScore, Focal)
