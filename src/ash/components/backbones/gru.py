"""``gru``: a stacked GRU over the steps; the representation is the last step's output."""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

from ash.interfaces import Backbone, ComponentConfig


class GRUConfig(ComponentConfig):
    hidden: int = Field(128, ge=4, description="Hidden size of each GRU layer.")
    n_layers: int = Field(1, ge=1, le=4, description="Stacked GRU layers.")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout between GRU layers.")


class GRUBackbone(Backbone[GRUConfig]):
    """Input projection → ``nn.GRU`` (exports to the ONNX ``GRU`` op) → LayerNorm(last output)."""

    name = "gru"

    def __init__(self, config: GRUConfig, n_features: int, steps: int) -> None:
        super().__init__(config, n_features, steps)
        self.hidden = config.hidden
        self.gru = nn.GRU(
            n_features,
            config.hidden,
            num_layers=config.n_layers,
            batch_first=True,
            dropout=config.dropout if config.n_layers > 1 else 0.0,
        )
        self.norm = nn.LayerNorm(config.hidden)

    @property
    def out_dim(self) -> int:
        return self.hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(x)
        return self.norm(out[:, -1, :])  # type: ignore[no-any-return]
