"""A small contract-conforming model used by fixtures, tests and benchmarks.

It is shaped like an assembled ash model (``window``, ``ctx``, ``n_buckets``; features, an
optional attention backbone, temperature-scaled softmax heads and volatility-scaled edges inside
the graph) but depends on no plugin, so the exporter can be tested on its own.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ash.bars.columns import CORE_COLUMNS
from ash.export.contract import OUTER_EDGE_BPS
from ash.interfaces import ModelContext


class _AttentionBlock(nn.Module):
    """Pre-norm single-head-group self-attention + MLP (plain ops: exports everywhere)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        shape = (b, s, self.heads, d // self.heads)
        q, k, v = (t.reshape(shape).transpose(1, 2) for t in (q, k, v))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // self.heads), dim=-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, s, d))
        out: torch.Tensor = x + self.mlp(self.norm2(x))
        return out


class ToyContractModel(nn.Module):
    """``bars[B, W, C] -> (probs[B, H, K], edges[B, H, K + 1])`` honouring contract v1.

    ``probs_scale`` != 1, ``reverse_edges`` or another ``outer_edge`` deliberately break the
    contract (fixtures).
    """

    col_scale: torch.Tensor
    temperature: torch.Tensor
    inner: torch.Tensor
    horizon_scale: torch.Tensor

    def __init__(
        self,
        *,
        window: int = 16,
        bar_columns: tuple[str, ...] = CORE_COLUMNS,
        bar_seconds: float = 1.0,
        horizons: tuple[float, ...] = (1.0, 10.0, 60.0),
        n_buckets: int = 9,
        dim: int = 16,
        layers: int = 0,
        heads: int = 2,
        seed: int = 0,
        probs_scale: float = 1.0,
        reverse_edges: bool = False,
        outer_edge: float = OUTER_EDGE_BPS,
    ) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.window = window
        self.ctx = ModelContext(tuple(bar_columns), bar_seconds, tuple(horizons))
        self.n_buckets = n_buckets
        self.price_col = self.ctx.column("mid") if "mid" in bar_columns else 0
        self.probs_scale = probs_scale
        self.reverse_edges = reverse_edges
        self.outer_edge = outer_edge
        n_h = len(horizons)
        self.embed = nn.Linear(len(bar_columns) + 1, dim)
        self.register_buffer("col_scale", torch.ones(len(bar_columns)))
        self.blocks = nn.ModuleList(_AttentionBlock(dim, heads) for _ in range(layers))
        self.head = nn.Linear(dim * 2, n_h * n_buckets)
        self.register_buffer("temperature", torch.tensor(1.3))
        inner = torch.linspace(-1.0, 1.0, n_buckets - 1)
        self.register_buffer("inner", inner.expand(n_h, -1).clone())
        self.register_buffer("horizon_scale", torch.tensor([math.sqrt(h) for h in horizons]))

    def forward(self, bars: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch = bars.shape[0]
        price = bars[:, :, self.price_col]
        logret = torch.log(price[:, 1:] / price[:, :-1]) * 1e4  # bps
        logret = torch.cat([torch.zeros_like(price[:, :1]), logret], dim=1)
        scaled = torch.sign(bars) * torch.log1p(torch.abs(bars)) / self.col_scale
        x = self.embed(torch.cat([scaled, logret.unsqueeze(-1)], dim=-1))
        for block in self.blocks:
            x = block(x)
        pooled = torch.cat([x[:, -1], x.mean(dim=1)], dim=-1)
        logits = self.head(pooled).reshape(batch, -1, self.n_buckets) / self.temperature
        probs = torch.softmax(logits, dim=-1) * self.probs_scale
        vol = torch.sqrt((logret**2).mean(dim=1) + 0.25)  # bps per bar, floored at half a bp
        inner = self.inner * (vol[:, None, None] * self.horizon_scale[None, :, None] * 3.0)
        if self.reverse_edges:
            inner = torch.flip(inner, dims=[-1])
        pad = torch.full((batch, inner.shape[1], 1), self.outer_edge, dtype=bars.dtype)
        edges = torch.cat([-pad, inner, pad], dim=-1)
        return probs, edges
