"""``time_of_day``: position in the trading session and recency of a session start/gap."""

from __future__ import annotations

import math

import torch
from pydantic import Field

from ash.components.features.base import ColumnFeatureBuilder
from ash.components.ops import rolling_sum, tail
from ash.interfaces import ComponentConfig, ModelContext


class TimeOfDayConfig(ComponentConfig):
    session_open_s: float = Field(34_200.0, description="Session open, seconds after midnight.")
    session_close_s: float = Field(57_600.0, description="Session close, seconds after midnight.")
    gap_lookback: int = Field(300, ge=1, description="Bars to look back for a session start.")


class TimeOfDay(ColumnFeatureBuilder[TimeOfDayConfig]):
    """``session_frac`` (0 at open, 1 at close, clipped to [−0.5, 1.5]), its sine and cosine,
    and ``recent_session_start`` (1 if a session start/gap flag is within ``gap_lookback`` bars)."""

    name = "time_of_day"

    def __init__(self, config: TimeOfDayConfig, ctx: ModelContext) -> None:
        super().__init__(config, ctx)
        if config.session_close_s <= config.session_open_s:
            raise ValueError(
                f"session_close_s ({config.session_close_s}) must be after session_open_s "
                f"({config.session_open_s})"
            )
        self.open, self.length = (
            config.session_open_s,
            config.session_close_s - config.session_open_s,
        )
        self.lookback = config.gap_lookback
        names = ["session_frac", "session_sin", "session_cos", "recent_session_start"]
        self.declare(["time_of_day", "session_start"], names, config.gap_lookback)

    def forward(self, bars: torch.Tensor) -> torch.Tensor:
        start = self.first_position(bars)
        x = self.columns(bars)  # [B, 2, W]: time of day, session-start flag
        frac = torch.clamp((tail(x[:, :1], start) - self.open) / self.length, -0.5, 1.5)
        angle = 2.0 * math.pi * frac
        flags = torch.clamp(x[:, 1:], 0.0, 1.0)
        recent = torch.clamp(rolling_sum(flags, self.lookback, start), 0.0, 1.0)
        features = torch.cat([frac, torch.sin(angle), torch.cos(angle), recent], dim=1)
        return self.output(features, bars)
