"""The design rows a fitted family reads: a window's feature steps summarised to one row.

A tree or a linear model has no sequence axis: per window it sees the raw (un-normalized)
features of the last step, their mean over the ``steps`` positions and their standard deviation
— ``3 F`` columns. Computed in torch, so the same function runs in training (on cached feature
windows), in Python prediction and, traced, in the exported graph.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

SUMMARIES: tuple[str, ...] = ("last", "mean", "std")


def design_matrix(raw: torch.Tensor) -> torch.Tensor:
    """``raw[B, steps, F]`` → ``[B, 3 F]``: last step, mean, population std over steps."""
    last = raw[:, -1, :]
    mean = raw.mean(dim=1)
    std = torch.sqrt(torch.clamp((raw - mean.unsqueeze(1)).square().mean(dim=1), min=0.0))
    return torch.cat([last, mean, std], dim=1)


def design_names(feature_names: Sequence[str]) -> tuple[str, ...]:
    """Column names of :func:`design_matrix` (``returns.r1:last`` …)."""
    return tuple(f"{name}:{summary}" for summary in SUMMARIES for name in feature_names)
