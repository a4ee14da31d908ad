"""Backbone specifics: config validation and causal attention."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from ash.components.backbones.transformer import (
    SelfAttention,
    TransformerBackbone,
    TransformerConfig,
)


def test_heads_must_divide_width() -> None:
    with pytest.raises(
        ValidationError, match=r"d_model \(100\) must be divisible by n_heads \(8\)"
    ):
        TransformerConfig(d_model=100, n_heads=8)


@pytest.mark.parametrize("causal", [True, False])
def test_causal_attention_ignores_later_steps(causal: bool) -> None:
    attn = SelfAttention(TransformerConfig(d_model=16, n_heads=4, causal=causal)).eval()
    x = torch.randn(2, 10, 16)
    y = x.clone()
    y[:, 6:] += 1.0
    same = torch.allclose(attn(x)[:, :6], attn(y)[:, :6], atol=1e-6)
    assert same is causal


def test_cls_token_exists_only_when_pooled() -> None:
    assert TransformerBackbone(TransformerConfig(pooling="cls"), 3, 5).cls is not None
    assert TransformerBackbone(TransformerConfig(pooling="mean"), 3, 5).cls is None
