"""Public, ONNX-friendly tensor helpers for feature builders, discretizers, the prior and plugins.

Everything in ``__all__`` is public API (docs/plugins.md): a plugin may build on it and it keeps
its meaning across releases. Series are **time-last**, ``[B, S, W]`` (``S`` series side by side,
time on the last axis), and every helper is causal (the value at ``t`` uses positions ``<= t``
only). They are written for a *lean* exported graph:

- one vectorised op for all lookbacks at once (a ``Gather`` with a constant ``[L, m]`` index
  table, one ``CumSum`` for every rolling window), never one chain per lookback;
- outputs only for the positions asked for (``start`` onwards: a feature builder asks for the
  positions after its warm-up, which are the ones a model reads); the inputs keep their length;
- index tables, warm-up counts and masks are constants built from the (fixed) window length at
  trace time, so the graph has no ``Shape``/``ConstantOfShape`` plumbing; only the batch axis
  stays dynamic;
- masks by arithmetic or one ``Where`` with a scalar branch, never ``ones_like``/``zeros_like``;
- time on the innermost axis: ONNX Runtime's elementwise kernels are fast over a long innermost
  axis and ~30x slower when it is a singleton (``[B, W, 1]``), which a bar-major layout gives.

Precision: callers compute in float64 (``CumSum`` differences and log-price differences are then
exact to ~1e-12 whatever the window length, so a feature at a position does not depend on how
many bars precede it) and cast to the bars' dtype once at the end.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

BPS = 1e4
EPS = 1e-12


__all__ = [
    "BPS",
    "bar_major",
    "finite",
    "flat",
    "lagged",
    "log1p_accurate",
    "log_differences",
    "ratio_of_sums",
    "rolling_corr",
    "rolling_counts",
    "rolling_mean_var",
    "rolling_means",
    "rolling_sum",
    "rolling_sums",
    "safe_div",
    "safe_log",
    "shifted",
    "signed_log",
    "tail",
]


def finite(x: torch.Tensor) -> torch.Tensor:
    """``x`` with NaN and ±inf replaced by 0 (three nodes: ``x·0 == 0`` is false exactly there)."""
    return torch.where(x * 0.0 == 0.0, x, 0.0)


@functools.lru_cache(maxsize=256)
def _tables(
    width: int, spans: tuple[int, ...], start: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``[L, m]`` tables for spans ``n`` at positions ``t = start … width − 1``:
    ``max(t − n, 0)``, ``t >= n`` (0/1), ``min(t + 1, n)``."""
    t = np.arange(start, width)[None, :]
    n = np.asarray(spans)[:, None]
    return np.maximum(t - n, 0), (t >= n).astype(np.float64), np.minimum(t + 1, n).astype(float)


def _tables_for(width: int, spans: Sequence[int], start: int) -> tuple[np.ndarray, ...]:
    if not 0 <= int(start) < int(width):
        raise ValueError(f"start {start} must be a position of the {width}-bar window")
    return _tables(int(width), tuple(int(n) for n in spans), int(start))


def _constant(
    array: np.ndarray, like: torch.Tensor, dtype: torch.dtype | None = None
) -> torch.Tensor:
    return torch.as_tensor(array, dtype=dtype or like.dtype, device=like.device)


def lagged(x: torch.Tensor, lags: Sequence[int], start: int = 0) -> torch.Tensor:
    """``x[..., W]`` delayed by each lag at positions ``start…``: ``[..., L, W − start]`` (one
    ``Gather``; before ``lag`` bars exist the first bar stands in)."""
    index = _tables_for(x.shape[-1], lags, start)[0]
    return x[..., _constant(index, x, torch.long)]


def shifted(x: torch.Tensor, lag: int) -> torch.Tensor:
    """``x[..., W]`` delayed by ``lag`` positions, full length (the first bar stands in)."""
    return x[..., _constant(_tables_for(x.shape[-1], (lag,), 0)[0][0], x, torch.long)]


def tail(x: torch.Tensor, start: int) -> torch.Tensor:
    """Positions ``start…`` of ``x[..., W]``."""
    return x[..., int(start) :] if start else x


def rolling_counts(
    width: int, windows: Sequence[int], like: torch.Tensor, start: int = 0
) -> torch.Tensor:
    """``[L, W − start]``: how many positions each rolling window covers, ``min(t + 1, n)``."""
    return _constant(_tables_for(width, windows, start)[2], like)


def rolling_sums(x: torch.Tensor, windows: Sequence[int], start: int = 0) -> torch.Tensor:
    """Sums of ``x[..., W]`` over the last ``n`` positions (fewer during warm-up), for every
    window at once, at positions ``start…``: ``[..., L, W − start]``, as
    ``cumsum[t] − cumsum[t − n]`` (one ``CumSum``, two ``Gather``). Call it on float64 series:
    the running sum then loses nothing measurable however long the series (float32 would lose
    ~eps·W/n of relative precision)."""
    width = int(x.shape[-1])
    before, keep, _ = _tables_for(width, windows, start)
    c = torch.cumsum(x, dim=-1)
    ends = c[..., _constant(np.arange(start, width)[None, :], x, torch.long)]  # [..., 1, m]
    starts = c[..., _constant(before, x, torch.long)]
    if not keep.all():  # windows reaching before the first bar: nothing to subtract there
        starts = starts * _constant(keep, x)
    return ends - starts


def rolling_sum(x: torch.Tensor, window: int, start: int = 0) -> torch.Tensor:
    """:func:`rolling_sums` for one window, without the lookback axis: ``[..., W − start]``."""
    before, keep, _ = _tables_for(x.shape[-1], (window,), start)
    c = torch.cumsum(x, dim=-1)
    starts = c[..., _constant(before[0], x, torch.long)]
    if not keep.all():
        starts = starts * _constant(keep[0], x)
    return tail(c, start) - starts


def rolling_means(x: torch.Tensor, windows: Sequence[int], start: int = 0) -> torch.Tensor:
    """Means over the last ``n`` positions (over the available ones during warm-up)."""
    return rolling_sums(x, windows, start) / rolling_counts(x.shape[-1], windows, x, start)


def rolling_mean_var(
    x: torch.Tensor, windows: Sequence[int], start: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rolling means and population variances of ``x[B, S, W]``: ``[B, S, L, W − start]``
    each (variance clamped at 0), from one rolling pass over ``x`` and ``x²``."""
    stats = rolling_means(torch.cat([x, x * x], dim=1), windows, start)
    mean, square = torch.chunk(stats, 2, dim=1)
    return mean, torch.clamp(square - mean * mean, min=0.0)


def rolling_corr(
    x: torch.Tensor, y: torch.Tensor, windows: Sequence[int], start: int = 0
) -> torch.Tensor:
    """Pearson correlations of ``x[B, S, W]`` and ``y[B, S, W]`` (or one of them with ``S = 1``,
    broadcast) over the last ``n`` positions, every window: ``[B, S, L, W − start]``; 0 where
    either side is flat. One rolling pass over every moment."""
    parts = [x, x * x, y, y * y, x * y]
    sizes = [int(p.shape[1]) for p in parts]
    moments = rolling_means(torch.cat(parts, dim=1), windows, start)
    mx, mxx, my, myy, mxy = torch.split(moments, sizes, 1)
    cov = mxy - mx * my
    vx = torch.clamp(mxx - mx * mx, min=0.0)
    vy = torch.clamp(myy - my * my, min=0.0)
    return torch.clamp(safe_div(cov, torch.sqrt(vx * vy), eps=1e-12), -1.0, 1.0)


def log_differences(price: torch.Tensor) -> torch.Tensor:
    """1-bar log-price differences (×1e4 for bps) of float64 prices ``[..., W]``; 0 at the first
    position and wherever a price is non-positive or missing (its log is not finite).

    A difference of float64 logs is exact to ~1e-16 for nearby prices, where float32
    ``log(new) − log(old)`` would lose 1e-3 of a one-tick return."""
    log_p = torch.log(price)
    return finite(log_p - shifted(log_p, 1))


def log1p_accurate(x: torch.Tensor) -> torch.Tensor:
    """``log(1 + x)`` accurate for tiny ``x`` without the ``Log1p`` op ONNX lacks.

    ``u = 1 + x`` rounds by ``δ = (u − 1) − x`` (exact in floating point); ``log(u) − δ/u`` removes
    that rounding to first order, so one-tick returns (~3e-5) keep full float32 precision. No
    division by a difference, hence no guard: valid for every ``x > −1``.
    """
    u = 1.0 + x
    return torch.log(u) - ((u - 1.0) - x) / u


def signed_log(x: torch.Tensor) -> torch.Tensor:
    """``sign(x) * log(1 + |x|)``: compresses aggregates spanning many orders of magnitude."""
    return torch.sign(x) * torch.log(1.0 + torch.abs(x))


def safe_div(num: torch.Tensor, den: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    """``num / den`` where ``|den| > eps``, else 0 (keeps outputs finite on empty bars).

    The denominator is made safe before dividing so no NaN is ever formed (a NaN in the unused
    branch of a ``Where`` would still poison gradients)."""
    ok = torch.abs(den) > eps
    return torch.where(ok, num / torch.where(ok, den, 1.0), 0.0)


def ratio_of_sums(num: torch.Tensor, den: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    """``num / den`` for a non-negative ``den`` with ``|num| <= den`` (sums of volumes, sizes):
    0 where ``den`` is 0. Two nodes instead of :func:`safe_div`'s five: where ``den`` is 0 so is
    ``num``, hence ``num / max(den, eps)`` is exactly 0 there and exactly ``num / den`` elsewhere
    (for ``den > eps``; a denominator in ``(0, eps]`` does not occur in bars)."""
    return num / torch.clamp(den, min=eps)


def safe_log(x: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    """``log(max(x, eps))``."""
    return torch.log(torch.clamp(x, min=eps))


def flat(x: torch.Tensor) -> torch.Tensor:
    """``[B, S, L, m]`` → ``[B, S·L, m]`` (series-major, then lookbacks, as feature names list
    them). Sizes are Python ints at trace time: one ``Reshape`` with a constant shape."""
    _, n_s, n_l, width = (int(d) for d in x.shape)
    return x.reshape(-1, n_s * n_l, width)


def bar_major(features: torch.Tensor, width: int, dtype: torch.dtype) -> torch.Tensor:
    """A builder's time-last features at its last positions ``[B, F, m]`` → its output
    ``[B, width, F]`` in ``dtype``, the ``width − m`` warm-up positions before them 0.

    The model transposes builder outputs back to time-last to concatenate them, and ONNX
    Runtime cancels each transpose pair, so this costs the graph a cast and a pad."""
    x = features.to(dtype)
    missing = int(width) - int(x.shape[-1])
    if missing:
        x = F.pad(x, (missing, 0))
    return x.transpose(1, 2)
