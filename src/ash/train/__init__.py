"""Training: :func:`run_training` turns a resolved experiment into a run folder and a model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ash.train.trainer import TrainResult, run_training

__all__ = ["TrainResult", "run_training"]


def __getattr__(name: str) -> Any:
    # Lazy: ash.runs imports ash.train.checkpoint, and the trainer imports ash.runs.
    if name in __all__:
        from ash.train import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'ash.train' has no attribute {name!r}")
