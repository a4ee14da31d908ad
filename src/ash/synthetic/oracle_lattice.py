"""The oracle's closed-form part (see :mod:`ash.synthetic.oracle`): where each bucket edge falls
on the half-tick mid lattice, and ``P(Δx ≥ x*)`` as a Poisson mixture over price jumps of
Gaussians, summed exactly up to a tail tolerance."""

from __future__ import annotations

import numpy as np
import torch

from ash.synthetic.dynamics import F64, mid_price

CDF_CHUNK = 256  # rows per normal-CDF block (bounds memory)
JUMP_TAIL_TOL = 1e-6
MAX_ABS_EDGE_BPS = 5e4  # beyond this an edge is treated as ±inf (|r| this large never occurs)


def lattice_thresholds(edges: F64, m0: F64, x0: F64, tick: float) -> F64:
    """``x*`` with ``r ≥ e ⇔ Δx ≥ x*`` on the even and the odd half-tick lattice."""
    half = tick / 2.0
    e = np.clip(edges, -MAX_ABS_EDGE_BPS, MAX_ABS_EDGE_BPS)
    m0b = m0[:, None, None]
    with np.errstate(over="ignore"):
        q_est = np.ceil(m0b * np.exp(e / 1e4) / half)
    out = np.empty((*edges.shape, 2))
    for parity in (0, 1):
        qp = q_est + np.mod(parity - q_est, 2)  # round up to the parity
        for _ in range(3):  # fix float slop with the exact target formula
            with np.errstate(divide="ignore", invalid="ignore"):
                r_here = 1e4 * np.log(mid_price(qp, tick) / m0b)
                r_prev = 1e4 * np.log(mid_price(qp - 2, tick) / m0b)
            qp = np.where(r_here < e, qp + 2, qp)
            qp = np.where((qp - 2 >= 1) & (r_prev >= e), qp - 2, qp)
        with np.errstate(divide="ignore", invalid="ignore"):
            xs = np.log(np.maximum(qp - 1, 0) * half) - x0[:, None, None]
        out[..., parity] = np.where(np.isfinite(xs), xs, -1e3)  # price floor: certain
    return out


def survival(
    thr: F64, mean: F64, var: F64, jump_mean: F64, w_odd: F64, jump_std: float, jump_cap: int
) -> F64:
    """``P(Δx ≥ x*)`` per sample: Poisson mixture over jumps, two parities. ``[B,H,K+1,S]``."""
    out = np.empty((*thr.shape[:3], mean.shape[-1]))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small blocks: thread hand-offs cost more than they save
    try:
        _survival_into(out, thr, mean, var, jump_mean, w_odd, jump_std, jump_cap)
    finally:
        torch.set_num_threads(threads)
    return out


def _survival_into(
    out: F64,
    thr: F64,
    mean: F64,
    var: F64,
    jump_mean: F64,
    w_odd: F64,
    jump_std: float,
    jump_cap: int,
) -> None:
    for hi in range(thr.shape[1]):
        lam_max = float(jump_mean[:, hi].max()) if jump_mean.size else 0.0
        kmax = max_jumps(lam_max, jump_std, jump_cap)
        for b0 in range(0, thr.shape[0], CDF_CHUNK):
            sl = slice(b0, b0 + CDF_CHUNK)
            out[sl, hi] = _survival_block(
                thr[sl, hi],
                mean[sl, hi],
                var[sl, hi],
                jump_mean[sl, hi],
                w_odd[sl, hi],
                kmax,
                jump_std,
            )


def max_jumps(lam_max: float, jump_std: float, cap: int) -> int:
    """Jump counts summed exactly: up to where the Poisson tail is below tolerance."""
    if jump_std <= 0 or lam_max <= 0:
        return 0
    pk = np.exp(-lam_max)
    tail, k = 1.0 - pk, 0
    while tail > JUMP_TAIL_TOL and k < cap:
        k += 1
        pk *= lam_max / k
        tail -= pk
    return k


def _survival_block(
    thr: F64, mean: F64, var: F64, lam: F64, w_odd: F64, kmax: int, jump_std: float
) -> F64:
    """One horizon, some rows: ``thr [b, K+1, 2]``, the rest ``[b, S]`` -> ``[b, K+1, S]``."""
    jstd2 = jump_std**2
    t_thr = torch.from_numpy(np.ascontiguousarray(thr))[:, :, None, :]  # [b,K+1,1,2]
    t_mean = torch.from_numpy(np.ascontiguousarray(mean))[:, None, :, None]
    t_w = torch.from_numpy(np.ascontiguousarray(w_odd))[:, None, :]
    t_lam = torch.from_numpy(np.ascontiguousarray(lam))
    t_var = torch.from_numpy(np.ascontiguousarray(var))
    total = torch.zeros((thr.shape[0], thr.shape[1], mean.shape[-1]), dtype=torch.float64)
    log_pk = -t_lam
    remaining = torch.ones_like(t_lam)
    for k in range(kmax + 1):
        if k > 0:
            log_pk = log_pk + torch.log(t_lam.clamp_min(1e-300)) - float(np.log(k))
        pk = torch.exp(log_pk) if k < kmax else remaining  # fold the tail into the last
        remaining = remaining - pk
        sd = torch.sqrt(t_var + k * jstd2).clamp_min(1e-12)[:, None, :, None]
        s = torch.special.ndtr((t_mean - t_thr) / sd)  # [b,K+1,S,2]
        both = (1 - t_w) * s[..., 0] + t_w * s[..., 1]
        total += pk[:, None, :] * both
    return total.numpy()
