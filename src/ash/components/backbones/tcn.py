"""``tcn``: a temporal convolution network (causal dilated residual blocks)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from ash.interfaces import Backbone, ComponentConfig


class TCNConfig(ComponentConfig):
    channels: int = Field(64, ge=4, description="Channels of every block.")
    kernel_size: int = Field(3, ge=2, le=9, description="Convolution kernel size.")
    n_blocks: int = Field(
        4, ge=1, le=10, description="Residual blocks; dilation doubles per block."
    )
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout inside blocks.")


class CausalBlock(nn.Module):
    def __init__(self, channels: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.conv1 = nn.Conv1d(channels, channels, kernel, dilation=dilation)
        self.conv2 = nn.Conv1d(channels, channels, kernel, dilation=dilation)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.gelu(self.conv1(F.pad(x, (self.pad, 0))))
        h = self.drop(F.gelu(self.conv2(F.pad(h, (self.pad, 0)))))
        out: torch.Tensor = x + h
        return out


class TCNBackbone(Backbone[TCNConfig]):
    """1×1 input projection → causal dilated blocks (dilation 1, 2, 4, …) → last step."""

    name = "tcn"

    def __init__(self, config: TCNConfig, n_features: int, steps: int) -> None:
        super().__init__(config, n_features, steps)
        self.channels = config.channels
        self.inp = nn.Conv1d(n_features, config.channels, 1)
        self.blocks = nn.Sequential(
            *(
                CausalBlock(config.channels, config.kernel_size, 2**i, config.dropout)
                for i in range(config.n_blocks)
            )
        )
        self.norm = nn.LayerNorm(config.channels)

    @property
    def out_dim(self) -> int:
        return self.channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.inp(x.transpose(1, 2)))
        return self.norm(h[:, :, -1])  # type: ignore[no-any-return]
