"""``regime_buckets``: one-hot regimes of implied vol, realized vol and relative volume.

Built on the input discretizers of :mod:`ash.components.features.regime_bucketizer`; a
variable whose edge list is empty is left out (e.g. ``iv_edges: []`` for bars without options).
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

from ash.components.features.base import ColumnFeatureBuilder
from ash.components.features.regime_bucketizer import (
    RegimeBucketizer,
    implied_vol_value,
    realized_vol_value,
    relative_volume_value,
)
from ash.components.ops import tail
from ash.interfaces import ComponentConfig, ModelContext


class RegimeBucketsConfig(ComponentConfig):
    iv_column: str = Field("atm_iv_30d", description="Implied-vol column (annualized, decimal).")
    iv_edges: tuple[float, ...] = Field(
        (0.12, 0.16, 0.22, 0.30), description="IV regime edges (decimal); empty to skip IV."
    )
    rv_window: int = Field(300, ge=2, description="Realized-vol window (bars).")
    rv_edges: tuple[float, ...] = Field(
        (0.08, 0.12, 0.18, 0.28), description="Annualized RV regime edges; empty to skip."
    )
    volume_short: int = Field(60, ge=1, description="Short volume window (bars).")
    volume_long: int = Field(600, ge=2, description="Long volume window (bars).")
    volume_edges: tuple[float, ...] = Field(
        (0.5, 0.8, 1.25, 2.0), description="Relative-volume regime edges; empty to skip."
    )
    price_column: str = Field("mid", description="Price column for realized vol.")


class RegimeBuckets(ColumnFeatureBuilder[RegimeBucketsConfig]):
    """One-hot ``iv_regime_k``, ``rv_regime_k``, ``volume_regime_k`` (bucket ``k`` of each)."""

    name = "regime_buckets"

    def __init__(self, config: RegimeBucketsConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        self.cfg = config
        self.parts = nn.ModuleDict()
        columns: list[str] = []
        names: list[str] = []
        warmup = 0
        if config.iv_edges:
            self.parts["iv"] = RegimeBucketizer(config.iv_edges, "iv")
            columns.append(config.iv_column)
        if config.rv_edges:
            self.parts["rv"] = RegimeBucketizer(config.rv_edges, "rv")
            columns.append(config.price_column)
            warmup = max(warmup, config.rv_window)
        if config.volume_edges:
            self.parts["volume"] = RegimeBucketizer(config.volume_edges, "volume")
            columns.append("volume")
            warmup = max(warmup, config.volume_long)
        if not self.parts:
            raise ValueError("regime_buckets: every edge list is empty; give at least one")
        for key, part in self.parts.items():
            assert isinstance(part, RegimeBucketizer)
            names += [f"{key}_regime_{k}" for k in range(part.n_buckets)]
        self.declare(columns, names, warmup)

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        start = self.first_position(bars)
        out = []
        for key, part in self.parts.items():
            if key == "iv":
                value = implied_vol_value(tail(self.columns(bars, [cfg.iv_column]), start))
            elif key == "rv":
                price = self.columns(bars, [cfg.price_column])
                value = realized_vol_value(price, cfg.rv_window, self.ctx.bar_seconds, start)
            else:
                volume = self.columns(bars, ["volume"])
                value = relative_volume_value(volume, cfg.volume_short, cfg.volume_long, start)
            out.append(part(value[:, 0]).transpose(1, 2))  # one-hot [B, K, m]
        return self.output(torch.cat(out, dim=1), bars)
