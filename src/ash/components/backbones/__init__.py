"""Sequence backbones ``[B, S, F] -> [B, D]``."""

from ash.components.backbones.gru import GRUBackbone
from ash.components.backbones.tcn import TCNBackbone
from ash.components.backbones.transformer import TransformerBackbone

ALL_BACKBONES = (TransformerBackbone, GRUBackbone, TCNBackbone)

__all__ = ["ALL_BACKBONES", "GRUBackbone", "TCNBackbone", "TransformerBackbone"]
