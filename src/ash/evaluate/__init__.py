"""Evaluation: :func:`evaluate_run` scores a run folder against baselines and writes a report.

``evaluate_run`` is imported on first use: the torch-free forecast tables
(:mod:`ash.evaluate.forecasts`) live in this package too.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ash.evaluate.run import evaluate_run

__all__ = ["evaluate_run"]


def __getattr__(name: str) -> Any:
    if name == "evaluate_run":
        from ash.evaluate.run import evaluate_run

        return evaluate_run
    raise AttributeError(f"module 'ash.evaluate' has no attribute {name!r}")
