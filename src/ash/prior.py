"""In-graph parametric priors: the model learns a *correction* to a baseline forecast.

With a prior, the horizon heads output residual logits that are added to the log-probabilities of
a parametric forecast computed inside the graph from the same window:

    logits = log p_prior(bucket | window) + head(backbone(features))

The final head layer starts at zero, so an untrained model *is* the prior and training only has to
learn what the prior misses (order flow, drift, regimes). Why this is worth a model option: a
Gaussian with EWMA volatility, snapped to the price lattice, is an excellent forecast of the
*scale* and *shape* (which buckets hold a reachable price at all) of short-horizon returns. A
backbone can learn both from features, but slowly and imprecisely from a few epochs of data; the
EWMA-Gaussian baseline beat such a model by 0.02–0.04 nats at every horizon on the synthetic
market. The prior lives in the graph, so the ONNX contract and the Rust runtime are unchanged.

``ewma_gaussian``: σ²_1 is the EWMA of squared 1-bar log returns (bps²) of the reference column
over the last ``lookback_bars`` (seeded with the training mean), σ_h = s_h·σ_1·√h with a learned
per-horizon scale s_h, and bucket mass is the N(0, σ_h²) mass of each bucket after its edges are
moved to the midpoints between reachable prices (``lattice``; the tick is fitted on the training
windows as the typical smallest non-zero price move, as the baseline does).

``point_mass`` (default ``none``): at 1 s, 70–80 % of real mid returns are exactly zero, so the
right shape is a point mass at the zero-return bucket plus lattice jumps, which a Gaussian
cannot take (its zero-bucket mass is set by σ). With a point mass, bucket mass becomes
``(1 − w_h)·gauss + w_h·[the bucket holds 0]``; ``constant``: ``w_h`` is a per-horizon
constant; ``zero_fraction``: ``w_h = f^a_h`` where ``f`` is the EWMA (same decay and lookback)
of the window's zero 1-bar moves, seeded with the training share, so quiet windows get more
zero mass. ``fit`` picks ``w_h`` (or ``a_h``) jointly with ``s_h`` on a grid of training NLL;
both stay trainable parameters.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from ash.components.discretizers.base import bucketize
from ash.components.ops import BPS, finite, log_differences
from ash.config.schema import PriorConfig
from ash.fitting import lbfgs_minimize
from ash.interfaces import ModelContext

PRIOR_FLOOR = 1e-4
"""Uniform mixture weight: no bucket gets zero prior mass, so a residual can always revive it."""


def floored_log(mass: torch.Tensor, n_buckets: int) -> torch.Tensor:
    """``log`` of bucket mass mixed with :data:`PRIOR_FLOOR` of a uniform distribution."""
    return torch.log((1 - PRIOR_FLOOR) * mass.clamp(min=0.0) + PRIOR_FLOOR / n_buckets)


def lattice_tick(moves: np.ndarray[Any, Any]) -> float:
    """The price lattice step from absolute price moves: the median of the moves near the 1st
    percentile of non-zero moves (float32 bars blur each move by ~1e-5; the median of the
    smallest cluster removes that blur). 0 when nothing moved."""
    moves = moves[np.isfinite(moves) & (moves > 1e-9)]
    if len(moves) == 0:
        return 0.0
    low = float(np.quantile(moves, 0.01))
    return float(np.median(moves[moves <= 1.5 * low]))


class Prior(nn.Module):
    """A forecast computed in the graph: ``log p [B, H, K]`` from bars and bucket edges."""

    min_window: int = 1

    def fit(
        self,
        windows: torch.Tensor,
        returns_bps: torch.Tensor | None = None,
        edges: torch.Tensor | None = None,
    ) -> None:
        """Fit constants on training windows ``[N, W, C]``, their forward returns ``[N, H]`` and
        bucket edges ``[N, H, K + 1]`` (default: nothing to fit)."""

    def forward(self, bars: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class EwmaGaussianPrior(Prior):
    """``log p_prior [B, H, K]`` from bars ``[B, W, C]`` and bucket edges ``[B, H, K + 1]``."""

    ewma_weights: torch.Tensor
    seed_weight: torch.Tensor
    sqrt_horizon_bars: torch.Tensor
    init_var: torch.Tensor
    tick: torch.Tensor
    init_zero: torch.Tensor

    def __init__(self, config: PriorConfig, ctx: ModelContext, price_column: str) -> None:
        super().__init__()
        self.price_index = ctx.column(price_column)
        self.lookback = config.lookback_bars
        self.min_window = config.lookback_bars + 1
        self.lattice = config.lattice
        d = config.decay
        # v = d^L·v0 + (1 − d)·Σ_j d^(L−1−j)·r_j²: one matrix product instead of a recurrence.
        powers = torch.arange(self.lookback - 1, -1, -1, dtype=torch.float64)
        self.register_buffer("ewma_weights", ((1 - d) * d**powers).float())
        self.register_buffer("seed_weight", torch.tensor(d**self.lookback, dtype=torch.float32))
        sqrt_h = torch.tensor([math.sqrt(b) for b in ctx.horizon_bars()], dtype=torch.float32)
        self.register_buffer("sqrt_horizon_bars", sqrt_h)
        self.register_buffer("init_var", torch.tensor(1.0))
        self.register_buffer("tick", torch.tensor(0.0))  # lattice step in price units; 0: none
        self.log_scale = nn.Parameter(torch.zeros(len(sqrt_h)))
        self.point_mass = config.point_mass
        # Per horizon: the point mass's weight logit (constant) or log a_h (zero_fraction).
        self.point_param: nn.Parameter | None = None
        if self.point_mass != "none":  # (models saved without a point mass load unchanged)
            self.point_param = nn.Parameter(torch.zeros(len(sqrt_h)))
            self.register_buffer("init_zero", torch.tensor(0.0))  # training share of zero moves

    @torch.no_grad()
    def fit(
        self,
        windows: torch.Tensor,
        returns_bps: torch.Tensor | None = None,
        edges: torch.Tensor | None = None,
    ) -> None:
        """Seed variance and lattice tick from training windows; with their forward returns and
        edges, also each horizon's scale (the grid point of least training NLL, as the baseline
        does), so that an untrained model already matches the fitted EWMA Gaussian."""
        price = windows[:, -self.min_window :, self.price_index].double()
        r = self.returns(windows)
        var = float(torch.nanmean(r * r))
        self.init_var.fill_(var if math.isfinite(var) and var > 0 else 1.0)
        moves = torch.diff(price, dim=1).abs().flatten().cpu().numpy()
        self.tick.fill_(lattice_tick(moves) if self.lattice else 0.0)
        self.log_scale.zero_()
        if self.point_param is not None:
            self.init_zero.fill_(float((r == 0).double().mean()) if r.numel() else 0.0)
            self.point_param.fill_(float(self._point_grid()[0]))
        if returns_bps is not None and edges is not None:
            log_scale, point = self._best_log_scales(windows, returns_bps, edges)
            self.log_scale.copy_(log_scale)
            if self.point_param is not None:
                self.point_param.copy_(point)

    def _point_grid(self) -> torch.Tensor:
        """Candidate point-mass parameters of the grid fit, the starting value first: weight
        logits (``constant``, w from 0 to 0.95) or log powers (``zero_fraction``, a from 0.05
        to 30)."""
        if self.point_mass == "constant":
            return torch.logit(torch.linspace(1e-4, 0.95, 40, dtype=torch.float64))
        grid = torch.linspace(math.log(0.05), math.log(30.0), 40, dtype=torch.float64)
        return torch.cat([torch.zeros(1, dtype=torch.float64), grid])

    def point_weight(self, bars: torch.Tensor) -> torch.Tensor:
        """The point mass's weight per window and horizon, ``[B, H]`` (or ``[1, H]``)."""
        assert self.point_param is not None
        return self._weight_from(self.point_param, bars)

    def _weight_from(self, param: torch.Tensor, bars: torch.Tensor) -> torch.Tensor:
        """Weights ``[..., B, H]`` for parameters ``param[..., H]`` (constant: ``[..., 1, H]``)."""
        if self.point_mass == "constant":
            return torch.sigmoid(param).unsqueeze(-2)
        # f = seed·f0 + Σ_j (1 − d)·d^(L−1−j)·[r_j = 0]: the EWMA of zero moves, one MatMul.
        d = self._log_differences(bars)
        width = int(d.shape[-1])
        pad = torch.zeros(width - self.lookback, dtype=d.dtype, device=d.device)
        weights = torch.cat([pad, self.ewma_weights.to(d.dtype)])
        zero = (d == 0).to(bars.dtype) @ weights.to(bars.dtype).unsqueeze(-1)
        # In [0, 1] (convex weights); kept off 0, where the power's gradient would be NaN.
        f = torch.clamp(self.seed_weight * self.init_zero + zero[:, 0], min=1e-6)
        return torch.pow(f, torch.exp(param).to(bars.dtype).unsqueeze(-2))

    def _best_log_scales(
        self, windows: torch.Tensor, returns_bps: torch.Tensor, edges: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per horizon, the grid point of least training NLL: ``(log s_h, point parameter)``
        (the point parameter is 0 without a point mass). Only the observed bucket's mass
        matters, so the grid works on ``[N, H]`` masses."""
        inner = self.snapped_inner(windows, edges).double()  # [N, H, K - 1]
        sigma = self.sigma(windows).double()  # [N, H] at scale 1
        ids = bucketize(returns_bps.double(), edges.double())
        k = inner.shape[-1] + 1
        ok = ids >= 0
        full = torch.cat([torch.full_like(inner[..., :1], -math.inf), inner], dim=-1)
        full = torch.cat([full, torch.full_like(inner[..., :1], math.inf)], dim=-1)
        safe = ids.clamp(min=0).unsqueeze(-1)
        lo = full.gather(-1, safe).squeeze(-1)
        hi = full.gather(-1, safe + 1).squeeze(-1)
        best = torch.zeros(sigma.shape[1], dtype=torch.float64, device=sigma.device)
        best_point = torch.zeros_like(best)
        best_nll = torch.full_like(best, math.inf)
        if self.point_param is None:
            grid, weights, at_zero = torch.zeros(1, dtype=torch.float64), None, None
            top = 2.5
        else:  # the Gaussian then only carries the moves: allow it to be wider
            grid = self._point_grid().to(sigma.device)
            weights = self._weight_from(grid.unsqueeze(-1), windows).double()  # [G, N|1, 1]
            at_zero = _zero_bucket(edges.double()).gather(-1, safe).squeeze(-1)
            top = 4.0
        for log_c in torch.linspace(math.log(0.4), math.log(top), 61, dtype=torch.float64):
            s = sigma * math.exp(float(log_c)) * math.sqrt(2.0)
            p = 0.5 * (torch.erf(hi / s) - torch.erf(lo / s))
            if weights is not None and at_zero is not None:
                p = p + weights * (at_zero - p)  # [G, N, H]
            logp = floored_log(p, k)
            nll = -(logp * ok).sum(-2) / ok.sum(0).clamp(min=1)  # [G, H] or [H]
            if nll.dim() == 2:
                nll, pick = nll.min(0)
                point = grid[pick]
            else:
                point = torch.zeros_like(nll)
            better = nll < best_nll
            best = torch.where(better, log_c, best)
            best_point = torch.where(better, point, best_point)
            best_nll = torch.where(better, nll, best_nll)
        return best.float(), best_point.float()

    def _price_row(self, bars: torch.Tensor) -> torch.Tensor:
        """The price column as ``[B, 1, W]``, NaN/inf → 0: the same nodes as a feature builder's
        :meth:`~ash.components.features.base.ColumnFeatureBuilder.columns` (shared in the graph)."""
        return finite(bars).transpose(1, 2)[:, [self.price_index]]

    def _log_differences(self, bars: torch.Tensor) -> torch.Tensor:
        """1-bar log-price differences over the whole window, float64 ``[B, 1, W]``: the first
        is 0, as is any next to a missing price. The same nodes as ``realized_vol``'s (shared
        in the graph when both read the same window); the EWMA weights ignore all but the
        last ``lookback``."""
        return log_differences(self._price_row(bars).double())

    def returns(self, bars: torch.Tensor) -> torch.Tensor:
        """1-bar log returns (bps, float64) over the lookback: ``[B, lookback]``."""
        return BPS * self._log_differences(bars)[:, 0, -self.lookback :]

    def _sigma_1(self, bars: torch.Tensor) -> torch.Tensor:
        """One-bar EWMA standard deviation (bps) ``[B, 1, 1]``."""
        d = self._log_differences(bars)
        # Weights over the whole window (0 before the lookback) with the bps² scale: one MatMul.
        width = int(d.shape[-1])
        pad = torch.zeros(width - self.lookback, dtype=torch.float64, device=d.device)
        weights = torch.cat([pad, self.ewma_weights.double() * (BPS * BPS)])
        ewma = (d * d) @ weights.unsqueeze(-1)
        var = self.seed_weight * self.init_var + ewma.to(bars.dtype)
        return torch.sqrt(torch.clamp(var, min=1e-8))

    def sigma(self, bars: torch.Tensor) -> torch.Tensor:
        """Per-horizon standard deviations (bps) ``[B, H]``."""
        return torch.exp(self.log_scale) * self._sigma_1(bars)[:, 0] * self.sqrt_horizon_bars

    def snapped_inner(self, bars: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        """Inner edges ``[B, H, K - 1]`` moved to the midpoints between reachable prices."""
        return self.snapped(bars, edges)[..., 1:-1]

    def snapped(self, bars: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        """Edges ``[B, H, K + 1]`` moved to the midpoints between reachable prices (the outer
        sentinels move too, by less than a step: they only mark the open ends)."""
        if not self.lattice:
            return edges
        # Bucket [e_k, e_{k+1}) holds the lattice points j·δ with ceil(e_k/δ) <= j <
        # ceil(e_{k+1}/δ); their rounding intervals tile the snapped edges below.
        ref = self._price_row(bars)[..., -1:]  # [B, 1, 1]
        step = (BPS * self.tick) / ref
        snapped = (torch.ceil(edges / step - 1e-6) - 0.5) * step
        # No tick fitted (0), or no valid reference price: the edges as they are.
        return torch.where(step > 0, snapped, edges)

    def forward(self, bars: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        # Bucket k's mass is the normal mass between z_k and z_{k+1}, z = edge / (√2·σ_h),
        # from tail differences (_bucket_masses). The outer edges get z = ±1e4 instead (open-ended
        # outer buckets) by a constant mask and offset, not a concatenation.
        n_edges = int(edges.shape[-1])
        inner, ends = _edge_constants(n_edges, edges)
        per_horizon = torch.exp(-self.log_scale) / (self.sqrt_horizon_bars * math.sqrt(2.0))
        z = self.snapped(bars, edges) * (per_horizon.unsqueeze(-1) * inner)
        z = z / self._sigma_1(bars) + ends
        mass = _bucket_masses(z)
        if self.point_param is not None:  # (1 − w)·gauss + w·[bucket holds 0], as g + w·(δ − g)
            weight = self.point_weight(bars).unsqueeze(-1)
            mass = mass + weight * (_zero_bucket(edges) - mass)
        mass = (1.0 - PRIOR_FLOOR) * mass
        return torch.log(torch.clamp(mass, min=0.0) + PRIOR_FLOOR / (n_edges - 1))


# ½·erfc(a) = t·exp(P(t) − a² + ln ½) with t = 1/(1 + a/2) and P of degree 9 (Numerical
# Recipes' Chebyshev fit, relative error < 1.2e-7): P's coefficients, highest power first as
# Numerical Recipes lists them, then as one vector over the powers t^0 … t^9 with ln ½ folded in.
_ERFC_POLY = (
    0.17087277,
    -0.82215223,
    1.48851587,
    -1.13520398,
    0.27886807,
    -0.18628806,
    0.09678418,
    0.37409196,
    1.00002368,
    -1.26551223,
)
_ERFC_POWERS = np.arange(10.0)
_ERFC_COEFFS = np.asarray([_ERFC_POLY[-1] + math.log(0.5), *_ERFC_POLY[-2::-1]])


def _half_erfc(z: torch.Tensor) -> torch.Tensor:
    """``½·erfc(|z|)`` for finite ``z``, as accurate in float32 as a Horner chain (relative
    error < 1e-6 for ``|z| <= 2``, < 1e-5 for ``|z| <= 8``), in 13 nodes instead of 25: every
    power ``t^k = exp(k·log t)`` at once (``t`` in (0, 1]: no power overflows), powers on the
    outer axis so each elementwise op runs over a long innermost axis, and one ``MatMul`` with
    the coefficients. Measured in ONNX Runtime at batch 1 it costs what the Horner chain did;
    ``Pow`` (a scalar ``pow`` per element) or a ``MatMul`` against a coefficient vector over a
    last axis of 10 cost 5–10× that. (``a²`` stays a product of ``a``: as powers
    ``4/t² − 8/t + 4`` of the rounded ``t`` it would cost a few times that accuracy.)

    Why not ``erf``: a tail bucket's mass is a difference of two erf values within a few float32
    ulps of ±1, and torch's and ONNX Runtime's ``Erf`` kernels disagree in that last ulp; a
    trained head that revives such a bucket (its prior mass ~1e-7) then broke the contract's
    1e-5 probability parity. Tail masses from ``erfc`` carry no cancellation."""
    a = torch.abs(z)
    two = torch.as_tensor(2.0, dtype=z.dtype, device=z.device)  # a tensor: one Div, not 1/x·2
    t = two / (2.0 + a)
    rest = [int(d) for d in t.shape[1:]]  # constants at export: only the batch stays dynamic
    exponents = torch.as_tensor(_ERFC_POWERS, dtype=z.dtype, device=z.device)
    powers = torch.exp(torch.log(t) * exponents.reshape(-1, *[1] * t.dim()))  # [10, *t.shape]
    coeffs = torch.as_tensor(_ERFC_COEFFS, dtype=z.dtype, device=z.device)
    poly = (coeffs[None] @ powers.reshape(len(_ERFC_POWERS), -1)).reshape(-1, *rest)
    return t * torch.exp(poly - a * a)


def _bucket_masses(z: torch.Tensor) -> torch.Tensor:
    """Standard-normal masses of the buckets ``[z_k, z_{k+1})`` between consecutive edges
    ``z[..., k]`` (in units of ``z = x/√2``, non-decreasing), each a difference of small tails
    (no cancellation).

    With ``s = sign(z)`` and signed tails ``w = s·½erfc(|z|)``, bucket ``k`` holds
    ``w_k − w_{k+1} + (s_{k+1} − s_k)/2`` on either side of zero and across it (an edge exactly
    at 0 included). Both differences are one ``MatMul`` each with a constant ``[K + 1, K]``
    matrix of 0 and ±1 (±½): every product is exact and only two are non-zero, so each sum is
    the correctly rounded difference in any summation order (the same in PyTorch and ONNX
    Runtime), and the ``s`` term, exactly 0 for a bucket on one side, never rounds a tail."""
    s = torch.sign(z)
    tails, signs = _difference_matrices(int(z.shape[-1]), z)
    return (s * _half_erfc(z)) @ tails + s @ signs


def _difference_matrices(n_edges: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``D[k, k] = 1, D[k + 1, k] = −1`` (``[n_edges, n_edges − 1]``) and ``−D/2``."""
    d = _difference_array(n_edges)
    return (
        torch.as_tensor(d, dtype=like.dtype, device=like.device),
        torch.as_tensor(-0.5 * d, dtype=like.dtype, device=like.device),
    )


@functools.lru_cache(maxsize=16)
def _difference_array(n_edges: int) -> np.ndarray:
    k = np.arange(n_edges - 1)
    d = np.zeros((n_edges, n_edges - 1))
    d[k, k], d[k + 1, k] = 1.0, -1.0
    return d


def _zero_bucket(edges: torch.Tensor) -> torch.Tensor:
    """1 at the bucket that holds a zero return (``e_k <= 0 < e_{k+1}``, as :func:`bucketize`
    assigns it), else 0: ``[..., K]`` from edges ``[..., K + 1]``."""
    above = (edges > 0).to(edges.dtype)
    return above[..., 1:] - above[..., :-1]


def _edge_constants(n_edges: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The inner-edge mask ``[0, 1, …, 1, 0]`` and the outer ``z`` offsets
    ``[−1e4, 0, …, 0, 1e4]`` for ``n_edges`` edges (the outer buckets are open-ended)."""
    inner, ends = _edge_arrays(n_edges)
    return (
        torch.as_tensor(inner, dtype=like.dtype, device=like.device),
        torch.as_tensor(ends, dtype=like.dtype, device=like.device),
    )


@functools.lru_cache(maxsize=16)
def _edge_arrays(n_edges: int) -> tuple[np.ndarray, np.ndarray]:
    inner = np.ones(n_edges)
    inner[[0, -1]] = 0.0
    ends = np.zeros(n_edges)
    ends[[0, -1]] = -1e4, 1e4
    return inner, ends


def fit_bucket_bias(
    prior_logp: torch.Tensor, ids: torch.Tensor, *, max_iter: int = 50, l2: float = 1e-4
) -> torch.Tensor:
    """Per-horizon bucket offsets ``b[H, K]`` minimising the training NLL of ``prior + b``.

    The head's output bias starts here instead of at zero: the standard "initialise the last
    bias to the log class frequencies" trick, relative to the prior. Where the prior's shape is
    wrong everywhere (a Gaussian for 1 s returns that are mostly exactly zero on real data) the
    model starts at the better of the two instead of learning the offset from scratch. Convex, so
    LBFGS finds it; a small L2 keeps buckets that training never hits at ~0.
    """
    z = prior_logp.detach().double()
    y = ids.long()
    ok = y >= 0
    bias = torch.zeros(z.shape[1:], dtype=torch.float64, requires_grad=True)

    def loss() -> torch.Tensor:
        logp = torch.log_softmax(z + bias, dim=-1)
        picked = logp.gather(-1, y.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        return -(picked * ok).sum() / ok.sum().clamp(min=1) + l2 * (bias * bias).sum()

    lbfgs_minimize(bias, loss, max_iter=max_iter, lr=1.0)  # callers fit under no_grad
    return bias.detach().float()


def build_prior(config: PriorConfig, ctx: ModelContext, reference: str) -> Prior | None:
    """The configured prior module, or ``None`` for ``kind: none``."""
    if config.kind == "none":
        return None
    return EwmaGaussianPrior(config, ctx, config.price_column or reference)


def prior_summary(prior: Prior | None) -> dict[str, Any]:
    """Fitted values worth a line in a report."""
    if not isinstance(prior, EwmaGaussianPrior):
        return {"kind": "none"}
    summary: dict[str, Any] = {
        "kind": "ewma_gaussian",
        "init_var_bps2": float(prior.init_var),
        "tick": float(prior.tick),
        "scales": [float(s) for s in torch.exp(prior.log_scale.detach())],
    }
    if prior.point_param is not None:
        values = prior.point_param.detach()
        summary["point_mass"] = prior.point_mass
        summary["init_zero_share"] = float(prior.init_zero)
        if prior.point_mass == "constant":
            summary["point_weights"] = [float(w) for w in torch.sigmoid(values)]
        else:
            summary["point_powers"] = [float(a) for a in torch.exp(values)]
    return summary
