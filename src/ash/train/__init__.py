"""Training: :func:`run_training` turns a resolved experiment into a run folder and a model."""

from ash.train.trainer import TrainResult, run_training

__all__ = ["TrainResult", "run_training"]
