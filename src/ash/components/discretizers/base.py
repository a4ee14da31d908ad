"""Shared pieces of every discretizer: the outer-edge sentinel, bucketing and decoding.

Bucket ``k`` is the half-open interval ``[edges[k], edges[k + 1])`` in bps of log return relative
to the last bar's reference price. The two outer edges are the contract's sentinels
``-OUTER_EDGE_BPS`` and ``+OUTER_EDGE_BPS``; the outer buckets are open-ended, so *every* finite
return maps to exactly one bucket, however extreme.
"""

from __future__ import annotations

from typing import ClassVar, Final, TypeVar

import numpy as np
import torch
from pydantic import Field, field_validator

from ash.components.ops import finite
from ash.interfaces import ComponentConfig, Discretizer

OUTER_EDGE_BPS: Final[float] = 10_000.0
"""The "inf-like" outer edge (bps). A log return of 1e4 bps is a move of ×e; finite so that every
consumer can do arithmetic on edges, and far outside any real bucket so it is never ambiguous."""


def validate_odd_buckets(value: int) -> int:
    """Symmetric discretizers need an odd K so a central bucket straddles 0 (no edge at 0)."""
    if value < 3 or value % 2 == 0:
        raise ValueError(
            f"n_buckets must be odd and >= 3 so that a central bucket contains a return of 0 "
            f"(an edge at 0 would split the zero-return atom); got {value}"
        )
    return value


class SymmetricConfig(ComponentConfig):
    """Fields every built-in discretizer shares."""

    n_buckets: int = Field(
        101, description="Number of buckets K (odd; the two outer ones are open-ended)."
    )

    @field_validator("n_buckets")
    @classmethod
    def _odd(cls, value: int) -> int:
        return validate_odd_buckets(value)


def with_sentinels(inner: torch.Tensor) -> torch.Tensor:
    """``inner[..., K - 1]`` finite edges → ``[..., K + 1]`` edges with the outer sentinels."""
    low = torch.full_like(inner[..., :1], -OUTER_EDGE_BPS)
    high = torch.full_like(inner[..., :1], OUTER_EDGE_BPS)
    return torch.cat([low, inner, high], dim=-1)


def padded_grid(inner: torch.Tensor) -> torch.Tensor:
    """``[..., K − 1]`` → ``[..., K + 1]`` with 0 at both ends: a constant that window-dependent
    edges scale and then :func:`add_sentinels` to (no concatenation on the batch in the graph)."""
    zero = torch.zeros_like(inner[..., :1])
    return torch.cat([zero, inner, zero], dim=-1)


def add_sentinels(edges: torch.Tensor) -> torch.Tensor:
    """Edges ``[..., K + 1]`` whose two outer values are 0 → the same with the outer sentinels
    (one ``Add`` of a constant ``[−S, 0, …, 0, S]``: exact, the inner edges gain +0)."""
    ends = np.zeros(int(edges.shape[-1]))
    ends[[0, -1]] = -OUTER_EDGE_BPS, OUTER_EDGE_BPS
    return edges + torch.as_tensor(ends, dtype=edges.dtype, device=edges.device)


def unit_grid(n_buckets: int) -> torch.Tensor:
    """The ``K - 1`` inner edges of unit-width buckets centred on 0: ``±0.5, ±1.5, …``."""
    half = (n_buckets - 2) / 2.0
    return torch.arange(n_buckets - 1, dtype=torch.float64) - half


def bucketize(returns_bps: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Bucket ids ``[B, H]`` (int64) of ``returns_bps[B, H]`` under ``edges[B, H, K + 1]``.

    Bucket ``k`` holds ``edges[k] <= r < edges[k + 1]``; returns beyond the sentinels (even ±inf)
    land in the outer buckets. NaN returns (missing targets) get id ``-1``: mask them out.
    """
    if returns_bps.shape != edges.shape[:-1]:
        raise ValueError(
            f"bucketize: returns shape {tuple(returns_bps.shape)} does not match edges shape "
            f"{tuple(edges.shape)} without its last axis"
        )
    inner = edges[..., 1:-1].contiguous().to(returns_bps.dtype)
    values = returns_bps.unsqueeze(-1).contiguous()
    ids = torch.searchsorted(inner, torch.nan_to_num(values, nan=0.0), right=True).squeeze(-1)
    return torch.where(torch.isnan(returns_bps), torch.full_like(ids, -1), ids)


def centers(edges: torch.Tensor) -> torch.Tensor:
    """Representative value (bps) of each bucket: ``[..., K + 1] -> [..., K]``.

    Inner buckets: the midpoint. Outer (open) buckets: the inner edge pushed outwards by half the
    width of the neighbouring inner bucket, i.e. the centre the bucket would have if it were as wide
    as its neighbour (never the sentinel, which would dominate any mean).
    """
    mid = 0.5 * (edges[..., 1:] + edges[..., :-1])
    low = edges[..., 1:2] - 0.5 * (edges[..., 2:3] - edges[..., 1:2])
    high = edges[..., -2:-1] + 0.5 * (edges[..., -2:-1] - edges[..., -3:-2])
    return torch.cat([low, mid[..., 1:-1], high], dim=-1)


def horizon_factor(horizon_s: float, ref_horizon_s: float, scaling: str) -> float:
    """How a width set at ``ref_horizon_s`` grows with the horizon (``sqrt``: diffusive)."""
    ratio = horizon_s / ref_horizon_s
    if scaling == "sqrt":
        return float(ratio**0.5)
    if scaling == "linear":
        return float(ratio)
    return 1.0


SymmetricConfigT = TypeVar("SymmetricConfigT", bound=SymmetricConfig)


class EdgeDiscretizer(Discretizer[SymmetricConfigT]):
    """Base of the built-ins: ``n_buckets`` from the config, edges expanded to the batch."""

    uses_columns: ClassVar[tuple[str, ...]] = ()

    @property
    def n_buckets(self) -> int:
        return self.config.n_buckets

    def _static_edges(self, inner: torch.Tensor, bars: torch.Tensor) -> torch.Tensor:
        """Expand per-horizon inner edges ``[H, K - 1]`` to ``[B, H, K + 1]`` for ``bars``."""
        edges = with_sentinels(inner.to(bars.dtype))  # constant: folded at export
        # Broadcast against a [B, 1, 1] zero taken from the cleaned bars (the cleaning is
        # shared with the feature builders): the batch axis stays dynamic with three nodes,
        # where expand() on a traced batch size costs eight.
        return edges + finite(bars)[:, -1:, :1] * 0.0
