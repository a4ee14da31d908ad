"""``log_return``: uniform buckets in bps, widened with the horizon, never narrower than a tick.

Tick lattice: SPY mids move in half-cent steps, i.e. ±0.3/±0.6 bps at $167 (DESIGN "Domain
notes"); at 1 s most returns are exactly 0. A bucket narrower than the lattice spacing is empty by
construction, so widths are floored at ``min_width_bps`` (default 0.5 bps = half a cent at $100:
for any price above $100 every bucket contains at least one lattice point). K is odd and the
grid is centred, so 0 sits in the middle of the central bucket rather than on an edge.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from ash.components.discretizers.base import (
    OUTER_EDGE_BPS,
    EdgeDiscretizer,
    SymmetricConfig,
    horizon_factor,
    unit_grid,
)
from ash.interfaces import ModelContext


class LogReturnConfig(SymmetricConfig):
    range_bps: float = Field(
        50.0, gt=0, description="Half-range (bps) of the inner edges at ref_horizon_s."
    )
    ref_horizon_s: float = Field(60.0, gt=0, description="Horizon (s) at which range_bps holds.")
    scaling: Literal["sqrt", "linear", "none"] = Field(
        "sqrt", description="How the range grows with the horizon relative to ref_horizon_s."
    )
    min_width_bps: float = Field(
        0.5, ge=0, description="Floor on the bucket width (bps): keep buckets wider than a tick."
    )
    horizon_range_bps: dict[float, float] = Field(
        default_factory=dict,
        description="Per-horizon override of the half-range (bps), keyed by horizon in seconds.",
    )


def uniform_widths(
    ctx: ModelContext,
    n_buckets: int,
    range_bps: float,
    ref_horizon_s: float,
    scaling: str,
    min_width_bps: float,
    overrides: dict[float, float],
) -> list[float]:
    """Bucket width (bps) per horizon for a centred uniform grid of ``n_buckets``."""
    unknown = sorted(set(overrides) - set(ctx.horizons))
    if unknown:
        raise ValueError(
            f"horizon_range_bps has horizons {unknown} that the model does not predict; "
            f"horizons are {list(ctx.horizons)}"
        )
    widths = []
    for h in ctx.horizons:
        half = overrides.get(h, range_bps * horizon_factor(h, ref_horizon_s, scaling))
        width = max(min_width_bps, 2.0 * half / (n_buckets - 2))
        if width * (n_buckets - 2) / 2.0 >= OUTER_EDGE_BPS / 2.0:
            raise ValueError(
                f"buckets at horizon {h} s reach {width * (n_buckets - 2) / 2:.0f} bps, too close "
                f"to the outer sentinel {OUTER_EDGE_BPS:.0f} bps; lower range_bps or n_buckets"
            )
        widths.append(width)
    return widths


class LogReturnDiscretizer(EdgeDiscretizer[LogReturnConfig]):
    """Static, centred uniform bps buckets per horizon (default 101 over ±50 bps at 60 s, √h)."""

    inner_edges: torch.Tensor
    name = "log_return"

    def __init__(self, config: LogReturnConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        widths = uniform_widths(
            ctx,
            config.n_buckets,
            config.range_bps,
            config.ref_horizon_s,
            config.scaling,
            config.min_width_bps,
            config.horizon_range_bps,
        )
        grid = unit_grid(config.n_buckets)
        inner = torch.stack([grid * w for w in widths]).float()
        self.register_buffer("inner_edges", inner)

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        return self._static_edges(self.inner_edges, bars)
