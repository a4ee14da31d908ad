"""The default family: the experiment's backbone + horizon heads, trained by gradient descent."""

from __future__ import annotations

from typing import Any

import torch

from ash.interfaces import ComponentConfig, Family, FamilyData


class NeuralConfig(ComponentConfig):
    """No parameters: the backbone (``model.backbone``) and heads (``model.head``) configure it."""


class NeuralFamily(Family[NeuralConfig]):
    """``model.backbone`` ▶ ``model.head``, one ``nn.Module`` the generic trainer fits.

    The model (:class:`ash.model.AshModel`) holds the backbone and heads itself, as it did before
    families existed, so neural runs, checkpoints and exports are unchanged; this class only
    marks the choice. Its fitted-family methods are never called.
    """

    name = "neural"
    gradient = True

    def _not_fitted(self) -> TypeError:
        return TypeError(
            "the neural family is trained by ash.train.trainer through the model's backbone and "
            "heads; it has no fit/forward/to_onnx of its own"
        )

    def fit(self, train: FamilyData, val: FamilyData) -> dict[str, float]:
        raise self._not_fitted()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise self._not_fitted()

    def to_onnx(self, n_inputs: int, opset: int) -> Any:
        raise self._not_fitted()

    def state_bytes(self) -> bytes:
        return b""

    def load_state_bytes(self, state: bytes) -> None:
        if state:
            raise ValueError("the neural family has no fitted state to load")
