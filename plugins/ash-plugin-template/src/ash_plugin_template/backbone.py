"""A deliberately simple backbone: flatten the last few steps and apply an MLP."""

import torch
from pydantic import Field
from torch import nn

from ash.interfaces import Backbone, ComponentConfig


class LastStepsMLPConfig(ComponentConfig):
    last_steps: int = Field(8, ge=1, description="How many of the most recent steps to use.")
    hidden: int = Field(64, ge=1, description="Hidden width of the MLP.")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout between the MLP layers.")


class LastStepsMLP(Backbone[LastStepsMLPConfig]):
    """``[B, S, F]`` → last ``last_steps`` steps, flattened → two-layer MLP → ``[B, hidden]``."""

    name = "template_mlp"

    def __init__(self, config: LastStepsMLPConfig, n_features: int, steps: int) -> None:
        super().__init__(config, n_features, steps)
        self.last = min(config.last_steps, steps)
        self.net = nn.Sequential(
            nn.Linear(self.last * n_features, config.hidden),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.hidden),
            nn.GELU(),
        )
        self._out = config.hidden

    @property
    def out_dim(self) -> int:
        return self._out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        recent = x[:, -self.last :, :]
        out: torch.Tensor = self.net(recent.reshape(recent.shape[0], -1))
        return out
