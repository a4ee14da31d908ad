"""One LBFGS loop for the small convex fits (temperatures, residual weights, bucket offsets)."""

from __future__ import annotations

from collections.abc import Callable

import torch


def lbfgs_minimize(
    params: torch.Tensor, loss: Callable[[], torch.Tensor], *, max_iter: int, lr: float
) -> None:
    """Minimise ``loss()`` over the leaf tensor ``params`` in place (LBFGS, strong Wolfe line
    search). Gradients are enabled inside, so callers may fit constants under ``no_grad``."""
    optimizer = torch.optim.LBFGS([params], lr=lr, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        value = loss()
        value.backward()  # type: ignore[no-untyped-call]
        return value

    with torch.enable_grad():
        optimizer.step(closure)  # type: ignore[no-untyped-call]
