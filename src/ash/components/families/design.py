"""The design rows a fitted family reads: a window's feature steps summarised to one row.

A tree or a linear model has no sequence axis: per window it sees the raw (un-normalized)
features of the last step, their mean over the ``steps`` positions and their standard deviation
— ``3 F`` columns. Computed in torch, so the same function runs in training (on cached feature
windows), in Python prediction and, traced, in the exported graph.

Why the sums are spelled out: trees compare a value with a threshold, and LightGBM puts
thresholds between *adjacent distinct training values*. Price-lattice features (a window's mean
one-bar return is a whole number of ticks over the window) form clusters whose members differ
only in the last bits, and a threshold can sit inside one. A reduction (``mean``, ONNX
``ReduceMean``) sums in an order each engine picks, so torch and ONNX Runtime give values one
ulp apart and the tree takes the other branch (measured on SPY: up to 6.5e-3 of probability).
Here every summary is made of element-wise IEEE operations in a fixed order — a pairwise sum
of slices, one division, one square root (in float64) — which round identically in both
engines, so the exported graph computes the very bits torch does. Summaries are centred on the
last step, so a constant window gives exactly ``mean == last`` and ``std == 0``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

SUMMARIES: tuple[str, ...] = ("last", "mean", "std")


def pairwise_sum(x: torch.Tensor) -> torch.Tensor:
    """``x[B, n, F]`` → ``[B, F]``, summed in a fixed pairwise order of element-wise adds
    (an odd position out waits for the next round); exact same bits when traced to ONNX."""
    while x.shape[1] > 1:
        n = x.shape[1]
        pairs = x[:, 0 : n - n % 2 : 2] + x[:, 1 : n - n % 2 : 2]
        x = torch.cat([pairs, x[:, n - 1 :]], dim=1) if n % 2 else pairs
    return x[:, 0]


def design_matrix(raw: torch.Tensor) -> torch.Tensor:
    """``raw[B, steps, F]`` → ``[B, 3 F]``: last step, mean, population std over steps."""
    steps = raw.shape[1]
    last = raw[:, -1, :]
    offset = raw - last.unsqueeze(1)  # exactly 0 where the window is flat
    shift = pairwise_sum(offset) / steps
    centred = offset - shift.unsqueeze(1)
    # torch's float32 sqrt is not correctly rounded on CPU (AVX-512: ~0.7 % of values one ulp
    # off), ONNX Runtime's is; the float64 root rounded to float32 is correctly rounded in both.
    std = torch.sqrt((pairwise_sum(centred * centred) / steps).double()).to(raw.dtype)
    return torch.cat([last, last + shift, std], dim=1)


def design_names(feature_names: Sequence[str]) -> tuple[str, ...]:
    """Column names of :func:`design_matrix` (``returns.r1:last`` …)."""
    return tuple(f"{name}:{summary}" for summary in SUMMARIES for name in feature_names)
