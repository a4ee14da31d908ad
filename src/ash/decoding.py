"""Decoding contract outputs (docs/contract.md §4): mean, quantiles, P(up), P(flat), P(down).

The one implementation, vectorized over any leading axes; :mod:`ash.export.decode` is its
documented face, and every consumer (the Rust runtime's ``decode.rs`` included) must reproduce
these numbers (the contract fixtures carry them). numpy only, so the torch-free paths (the ONNX
predictor, ``ash replay``) use it too.

**P(up), P(flat), P(down)** — one definition shared by the served summaries, the decoder, the
evaluator's directional metrics and its P&L simulation. "Flat" is the bucket a zero return falls
into: buckets are half-open ``[e[k], e[k+1])``, so it is the bucket ``z`` with
``e[z] <= 0 < e[z+1]`` (the sentinels make bucket 0 open to -inf and bucket K-1 to +inf, so
exactly one bucket is flat). P(flat) is that bucket's whole mass: the bucket straddling zero is
not split, because the model cannot tell on which side of zero inside it a return lies, and on a
price lattice it is the "price did not move" bucket that holds most of the mass at 1 s. P(up) is
the mass of the buckets above it (every return there is > 0), P(down) of those below (every
return there is < 0); the three add up to the row sum (1 within the contract's 1e-4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
DEFAULT_QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True)
class Summary:
    """The decoded distribution of one row."""

    mean_bps: float
    p_up: float
    p_flat: float
    p_down: float
    quantiles: dict[float, float]


@dataclass(frozen=True)
class Decoded:
    """Decoded rows: every array has the leading shape of ``probs[..., K]``."""

    mean_bps: F64
    p_up: F64
    p_flat: F64
    p_down: F64
    quantiles: dict[float, F64]


def effective_edges(edges: npt.ArrayLike) -> F64:
    """Replace the sentinels by the inner edge ∓ the adjacent inner bucket's width (1 bp if K=2)."""
    e = np.asarray(edges, dtype=np.float64)
    k = e.shape[-1] - 1
    w_lo = e[..., 2] - e[..., 1] if k > 2 else 1.0
    w_hi = e[..., k - 1] - e[..., k - 2] if k > 2 else 1.0
    f = e.copy()
    f[..., 0] = e[..., 1] - w_lo
    f[..., k] = e[..., k - 1] + w_hi
    return f


def direction_probs(probs: npt.ArrayLike, edges: npt.ArrayLike) -> tuple[F64, F64, F64]:
    """(P(up), P(flat), P(down)) of ``probs[..., K]`` on ``edges[..., K + 1]`` (broadcast)."""
    p = np.asarray(probs, dtype=np.float64)
    e = np.broadcast_to(np.asarray(edges, dtype=np.float64), (*p.shape[:-1], p.shape[-1] + 1))
    above = e[..., :-1] > 0.0
    below = e[..., 1:] <= 0.0
    return (
        (p * above).sum(axis=-1),
        (p * ~(above | below)).sum(axis=-1),
        (p * below).sum(axis=-1),
    )


def quantiles_of(probs: npt.ArrayLike, f: npt.ArrayLike, q: float) -> F64:
    """The q-quantile of each piecewise-uniform row on effective edges ``f[..., K + 1]``: the
    first bucket with ``C[k+1] >= q`` and mass > 0, interpolated; ``q`` above the row's total
    mass gives ``f[..., K]``."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile level must be in (0, 1), got {q}")
    p = np.asarray(probs, dtype=np.float64)
    f = np.broadcast_to(np.asarray(f, dtype=np.float64), (*p.shape[:-1], p.shape[-1] + 1))
    upper = np.cumsum(p, axis=-1)
    hit = (upper >= q) & (p > 0)
    found = hit.any(axis=-1)
    k = np.argmax(hit, axis=-1)[..., None]
    p_k = np.take_along_axis(p, k, -1)[..., 0]
    below = np.take_along_axis(upper, k, -1)[..., 0] - p_k
    lo = np.take_along_axis(f, k, -1)[..., 0]
    hi = np.take_along_axis(f, k + 1, -1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        value = lo + (q - below) / p_k * (hi - lo)
    return np.where(found, value, f[..., -1])


def quantile(probs: npt.ArrayLike, f: npt.ArrayLike, q: float) -> float:
    """The q-quantile of one row (see :func:`quantiles_of`)."""
    return float(quantiles_of(probs, f, q))


def decode(
    probs: npt.ArrayLike,
    edges: npt.ArrayLike,
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
) -> Decoded:
    """Decode ``probs[..., K]`` and ``edges[..., K + 1]`` (any leading axes, e.g. ``[N, H]``)."""
    p = np.asarray(probs, dtype=np.float64)
    e = np.broadcast_to(np.asarray(edges, dtype=np.float64), (*p.shape[:-1], p.shape[-1] + 1))
    f = effective_edges(e)
    up, flat, down = direction_probs(p, e)
    return Decoded(
        mean_bps=(p * (f[..., :-1] + f[..., 1:]) / 2).sum(axis=-1),
        p_up=up,
        p_flat=flat,
        p_down=down,
        quantiles={q: quantiles_of(p, f, q) for q in quantiles},
    )


def summarize(
    probs: npt.ArrayLike, edges: npt.ArrayLike, quantiles: tuple[float, ...] = DEFAULT_QUANTILES
) -> Summary:
    """Decode one row: ``probs[K]`` and ``edges[K + 1]``."""
    d = decode(probs, edges, quantiles)
    return Summary(
        mean_bps=float(d.mean_bps),
        p_up=float(d.p_up),
        p_flat=float(d.p_flat),
        p_down=float(d.p_down),
        quantiles={q: float(v) for q, v in d.quantiles.items()},
    )
