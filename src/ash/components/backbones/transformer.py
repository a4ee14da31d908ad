"""``transformer``: a small pre-norm encoder in the style of nanoGPT's ``model.py``.

Written for clean ONNX export (opset 17, TorchScript exporter): fused qkv ``nn.Linear``,
``F.scaled_dot_product_attention`` (exports to MatMul/Softmax; causal masks via Trilu), no
data-dependent control flow, fixed sequence length ``steps`` with learned positions.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import nn

from ash.interfaces import Backbone, ComponentConfig


class TransformerConfig(ComponentConfig):
    d_model: int = Field(128, ge=8, le=4096, description="Embedding width.")
    n_layers: int = Field(2, ge=1, le=12, description="Number of pre-norm blocks (1-4 typical).")
    n_heads: int = Field(4, ge=1, le=32, description="Attention heads (must divide d_model).")
    mlp_hidden: int | None = Field(
        None, ge=8, description="Hidden width of each MLP (default 4·d_model)."
    )
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout in attention and MLP.")
    pooling: Literal["cls", "mean", "last"] = Field(
        "cls", description="[CLS] token, mean over steps, or the last step."
    )
    causal: bool = Field(False, description="Causal (masked) attention instead of bidirectional.")
    bias: bool = Field(True, description="Biases in Linear layers and LayerNorms.")

    @model_validator(mode="after")
    def _heads_divide(self) -> TransformerConfig:
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
            )
        return self


class SelfAttention(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.c_attn = nn.Linear(cfg.d_model, 3 * cfg.d_model, bias=cfg.bias)
        self.c_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=cfg.bias)
        self.resid_dropout = nn.Dropout(cfg.dropout)
        self.n_head, self.d_model = cfg.n_heads, cfg.d_model
        self.dropout, self.causal = cfg.dropout, cfg.causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        # Every head of q, k and v in one view and one transpose, then split by head groups:
        # three nodes in the exported graph instead of a reshape and transpose per tensor.
        heads = self.c_attn(x).view(b, t, 3 * self.n_head, c // self.n_head).transpose(1, 2)
        q, k, v = heads.split(self.n_head, dim=1)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=self.causal
        )
        y = y.transpose(1, 2).contiguous().view(b, t, c)
        return self.resid_dropout(self.c_proj(y))  # type: ignore[no-any-return]


class MLP(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        hidden = cfg.mlp_hidden or 4 * cfg.d_model
        self.c_fc = nn.Linear(cfg.d_model, hidden, bias=cfg.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(hidden, cfg.d_model, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))  # type: ignore[no-any-return]


class Block(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.d_model, bias=cfg.bias)
        self.attn = SelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.d_model, bias=cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))  # type: ignore[no-any-return]


class TransformerBackbone(Backbone[TransformerConfig]):
    """Linear embedding + learned positions → pre-norm blocks → final LayerNorm → pooling.

    With ``pooling="cls"`` a learned token is *appended* after the last step, so it sees every
    step even under causal attention.
    """

    name = "transformer"

    def __init__(self, config: TransformerConfig, n_features: int, steps: int) -> None:
        super().__init__(config, n_features, steps)
        self.cfg = config
        length = steps + (1 if config.pooling == "cls" else 0)
        self.wte = nn.Linear(n_features, config.d_model, bias=config.bias)
        self.wpe = nn.Parameter(torch.zeros(1, length, config.d_model))
        # Only created when used: an unused parameter would break DistributedDataParallel.
        self.cls = (
            nn.Parameter(torch.zeros(1, 1, config.d_model)) if config.pooling == "cls" else None
        )
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList([Block(config) for _ in range(config.n_layers)])
        self.ln_f = nn.LayerNorm(config.d_model, bias=config.bias)
        self.apply(self._init_weights)
        nn.init.normal_(self.wpe, std=0.02)
        if self.cls is not None:
            nn.init.normal_(self.cls, std=0.02)
        for name, p in self.named_parameters():  # GPT-2 scaled init of residual projections
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / (2 * config.n_layers) ** 0.5)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    @property
    def out_dim(self) -> int:
        return self.cfg.d_model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.wte(x)
        positions: torch.Tensor = self.wpe
        if self.cls is not None:
            # The [CLS] slot is a zero row appended to the steps and its token joins the
            # position embedding (parameters only: one constant at export), so the graph pads
            # once instead of expanding the token to the batch by shape arithmetic.
            h = F.pad(h, (0, 0, 0, 1))
            positions = positions + F.pad(self.cls, (0, 0, int(self.wpe.shape[1]) - 1, 0))
        h = self.drop(h + positions)
        for block in self.blocks:
            h = block(h)
        h = self.ln_f(h)
        pooled: torch.Tensor = h.mean(dim=1) if self.cfg.pooling == "mean" else h[:, -1, :]
        return pooled
