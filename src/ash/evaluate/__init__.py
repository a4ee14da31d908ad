"""Evaluation: :func:`evaluate_run` scores a run folder against baselines and writes a report."""

from ash.evaluate.run import evaluate_run

__all__ = ["evaluate_run"]
