"""``lattice``: buckets of whole price steps, as many as the window's price level needs.

One bps grid cannot fit symbols at $14 and $181: a half-cent mid step is 3.6 bps of BAC but
0.28 bps of IBM, so a fixed grid is either mostly empty for BAC or too coarse for IBM. Nor can
one width in ticks (``fixed_width``): volatility is alike in bps, so 1.5 ticks at 60 s is many
σ for BAC and a fraction of σ for IBM. Here each window's last reference price ``p`` sets, in the
graph, how many lattice steps (``step``, price units) one bucket holds at horizon ``h``: ``m_h``,
the odd number of steps closest from below to the target width in bps (``range_bps`` at
``ref_horizon_s``, scaled like ``log_return``; at least one step). Edges sit at ±½, ±1½, … bucket
widths in price, i.e. half a step between reachable prices, and are turned into bps exactly as
``fixed_width`` does (``10⁴·log(1 + e/p)``): a return on the lattice is never on an edge, 0 is in
the middle of the central bucket, and bucket ``c + j`` means "about ``j·m_h`` steps" for every
symbol. At 1 s, where most mid returns are exactly 0 or one step, the buckets are the lattice.
A window without a valid price falls back to ``fallback_width_bps`` per bucket.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from ash.components.discretizers.base import (
    EdgeDiscretizer,
    SymmetricConfig,
    add_sentinels,
    horizon_factor,
    padded_grid,
    unit_grid,
)
from ash.components.ops import BPS, finite, log1p_accurate
from ash.interfaces import ModelContext


class LatticeConfig(SymmetricConfig):
    step: float = Field(
        0.005,
        gt=0,
        description="Lattice step in price units (0.005: a mid between 1-cent quotes moves in "
        "half cents).",
    )
    range_bps: float = Field(
        50.0, gt=0, description="Target half-range (bps) of the inner edges at ref_horizon_s."
    )
    ref_horizon_s: float = Field(60.0, gt=0, description="Horizon (s) at which range_bps holds.")
    scaling: Literal["sqrt", "linear", "none"] = Field(
        "sqrt", description="How the target range grows with the horizon."
    )
    fallback_width_bps: float = Field(
        0.5, gt=0, description="Bucket width (bps) of a window without a valid price."
    )
    price_column: str = Field("mid", description="Bar column whose last value sets the level.")


class LatticeDiscretizer(EdgeDiscretizer[LatticeConfig]):
    """Window-dependent edges at half-steps of the price lattice, ``m_h`` steps per bucket."""

    target_width: torch.Tensor
    padded: torch.Tensor
    half_steps_per_price: torch.Tensor
    name = "lattice"

    def __init__(self, config: LatticeConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self.price_index = ctx.column(config.price_column)
        k = config.n_buckets
        per_range = 2.0 * config.range_bps / (k - 2)
        widths = [
            per_range * horizon_factor(h, config.ref_horizon_s, config.scaling)
            for h in ctx.horizons
        ]
        self.register_buffer("target_width", torch.tensor(widths, dtype=torch.float32))
        self.register_buffer("padded", padded_grid(unit_grid(k)).float(), persistent=False)
        # floor(target_bps · p / (2 · 10⁴ · step)) half-widths of whole steps, per horizon
        self.register_buffer(
            "half_steps_per_price", self.target_width / (2.0 * BPS * config.step), persistent=False
        )
        self.step = config.step
        self.fallback = config.fallback_width_bps
        self.max_ratio = 1.0 / (k - 2)  # widest inner edge at most half the price

    def _price(self, bars: torch.Tensor) -> torch.Tensor:
        return finite(bars)[:, -1:, self.price_index]  # [B, 1]

    def steps_per_bucket(self, bars: torch.Tensor) -> torch.Tensor:
        """``m_h`` per window and horizon ``[B, H]``: an odd number of lattice steps (>= 1)."""
        price = torch.clamp(self._price(bars), min=0.0)
        return 2.0 * torch.floor(self.half_steps_per_price * price) + 1.0

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        price = self._price(bars)  # [B, 1]
        valid = price > 0
        safe = torch.where(valid, price, 1.0)
        ratio = torch.clamp(self.steps_per_bucket(bars) * self.step / safe, max=self.max_ratio)
        edges = BPS * log1p_accurate(ratio.unsqueeze(-1) * self.padded)  # [B, H, K + 1]
        fallback = self.padded * self.fallback
        return add_sentinels(torch.where(valid.unsqueeze(-1), edges, fallback))
