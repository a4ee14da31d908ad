"""Model families: how a window's features become per-horizon bucket logits (docs/families.md)."""

from ash.components.families.design import design_matrix, design_names
from ash.components.families.lightgbm import LightGBMFamily
from ash.components.families.neural import NeuralFamily

ALL_FAMILIES = (NeuralFamily, LightGBMFamily)

__all__ = ["ALL_FAMILIES", "LightGBMFamily", "NeuralFamily", "design_matrix", "design_names"]
