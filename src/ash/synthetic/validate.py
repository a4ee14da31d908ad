"""Proof that the oracle is right: log-likelihood against climatology, ECE and PIT per horizon.

``python -m ash.synthetic.validate`` simulates a few sessions, fits climatology (bucket
frequencies) on the first ones and scores oracle and climatology on the rest. The tests in
``tests/synthetic`` use these functions with smaller settings.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ash.synthetic.config import SyntheticConfig
from ash.synthetic.dynamics import F64, I64
from ash.synthetic.oracle import Oracle, bucketize
from ash.synthetic.simulator import Simulator

DEFAULT_HORIZONS: tuple[float, ...] = (1, 5, 10, 30, 60, 120, 300, 600)
OUTER_EDGE_BPS = 10_000.0


def uniform_edges(
    horizons_s: Sequence[float],
    n_rows: int,
    *,
    inner_buckets: int = 21,
    sd_bps_at_1s: float = 0.8,
    span_sd: float = 3.5,
) -> F64:
    """``inner_buckets`` equal buckets over ``±span_sd·sd_bps_at_1s·√h``, plus two open ones.

    Returns ``[n_rows, H, inner_buckets + 3]`` edges with the contract's ±10000 sentinels.
    """
    rows = []
    for h in horizons_s:
        half = span_sd * sd_bps_at_1s * math.sqrt(h)
        inner = np.linspace(-half, half, inner_buckets + 1)
        rows.append(np.concatenate(([-OUTER_EDGE_BPS], inner, [OUTER_EDGE_BPS])))
    e = np.stack(rows)  # [H, K+1]
    return np.broadcast_to(e, (n_rows, *e.shape)).copy()


def climatology(buckets: I64, n_buckets: int, prior: float = 0.5) -> F64:
    """Bucket frequencies per horizon ``[H, K]`` (add-``prior`` smoothing; -1 entries skipped)."""
    out = np.empty((buckets.shape[1], n_buckets))
    for hi in range(buckets.shape[1]):
        b = buckets[:, hi]
        counts = np.bincount(b[b >= 0], minlength=n_buckets).astype(np.float64) + prior
        out[hi] = counts / counts.sum()
    return out


def randomized_pit(probs: F64, buckets: I64, rng: np.random.Generator) -> F64:
    """``F(k−1) + V·p(k)`` with ``V ~ U(0,1)``: exactly uniform when the probabilities are true."""
    cdf_below = np.cumsum(probs, axis=-1) - probs
    idx = buckets[..., None]
    lo = np.take_along_axis(cdf_below, idx, axis=-1)[..., 0]
    p = np.take_along_axis(probs, idx, axis=-1)[..., 0]
    return np.asarray(lo + rng.random(lo.shape) * p)


def ks_uniform_pvalue(u: F64) -> tuple[float, float]:
    """Kolmogorov–Smirnov statistic against U(0,1) and its asymptotic p-value."""
    x = np.sort(np.asarray(u, dtype=np.float64))
    n = x.shape[0]
    if n == 0:
        raise ValueError("KS test needs at least one value")
    i = np.arange(1, n + 1)
    d = float(max((i / n - x).max(), (x - (i - 1) / n).max()))
    t = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d  # Stephens' finite-n correction
    p = 2.0 * sum((-1) ** (k - 1) * math.exp(-2.0 * k * k * t * t) for k in range(1, 101))
    return d, float(min(max(p, 0.0), 1.0))


def classwise_ece(probs: F64, buckets: I64, n_bins: int = 10) -> float:
    """Mean over (row, bucket) pairs of |frequency − predicted| in equal-width probability bins."""
    p = probs.reshape(-1)
    hit = (np.arange(probs.shape[-1])[None, :] == buckets.reshape(-1, 1)).reshape(-1)
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            total += abs(float(hit[m].mean()) - float(p[m].mean())) * float(m.sum())
    return float(total / p.shape[0] * probs.shape[-1])  # per row, summed over buckets


def ece_null(probs: F64, n_bins: int, rng: np.random.Generator, draws: int) -> F64:
    """ECE of outcomes drawn from ``probs`` itself: what sampling noise alone gives."""
    cdf = np.cumsum(probs, axis=-1)
    out: F64 = np.empty(draws)
    for d in range(draws):
        u = rng.random((probs.shape[0], 1))
        fake = np.minimum((u > cdf).sum(axis=-1), probs.shape[-1] - 1)
        out[d] = classwise_ece(probs, fake, n_bins)
    return out


@dataclass(frozen=True)
class HorizonReport:
    horizon_s: float
    n: int
    oracle_ll: float
    climatology_ll: float
    gain_se: float  # standard error of the mean log-likelihood gain (non-overlapping samples)
    ece: float
    ece_null_q99: float
    ece_p: float  # share of null ECEs at least as large as the observed one
    ks_d: float
    ks_p: float
    mc_stderr: float  # mean Monte Carlo standard error of the oracle's probabilities


def bar_ends(sim: Simulator, days: Sequence[int], spacing_s: float, warmup_s: float = 60.0) -> I64:
    """Bar ends every ``spacing_s`` seconds of the given sessions (after a warm-up)."""
    session = sim.cfg.session_seconds
    out = []
    for d in days:
        secs = np.arange(warmup_s, session + 1e-9, spacing_s)
        out.append(int(sim.opens_ns[d]) + np.round(secs * 1e9).astype(np.int64))
    return np.concatenate(out)


def evaluate(
    cfg: SyntheticConfig,
    horizons_s: Sequence[float] = DEFAULT_HORIZONS,
    *,
    train_days: int = 2,
    spacing_s: float = 1.0,
    max_rows: int = 4000,
    seed: int = 0,
    null_draws: int = 1000,
) -> list[HorizonReport]:
    """Score the oracle and climatology on the sessions after ``train_days``."""
    sim = Simulator(cfg)
    oracle = Oracle(sim)
    rng = np.random.default_rng(seed)
    symbol = cfg.symbol
    if cfg.n_days <= train_days:
        raise ValueError(f"need more than train_days={train_days} sessions, have {cfg.n_days}")
    train_ts = bar_ends(sim, range(train_days), spacing_s)
    edges_train = uniform_edges(horizons_s, len(train_ts))
    k_train = bucketize(oracle.realized_returns(symbol, train_ts, horizons_s), edges_train)
    clim = climatology(k_train, edges_train.shape[2] - 1)
    reports = []
    test_days = range(train_days, cfg.n_days)
    for hi, h in enumerate(horizons_s):
        # non-overlapping targets: bar ends at least h apart, so outcomes are independent
        ts = bar_ends(sim, test_days, max(spacing_s, float(h)))
        if len(ts) > max_rows:
            ts = np.sort(rng.choice(ts, max_rows, replace=False))
        edges = uniform_edges([h], len(ts))
        realized = oracle.realized_returns(symbol, ts, [h])
        res = oracle.predict(symbol, ts, [h], edges)
        k = bucketize(realized, edges)[:, 0]
        ok = k >= 0
        probs = res.probs[ok, 0]
        k = k[ok]
        ll_o = np.log(probs[np.arange(len(k)), k])
        ll_c = np.log(clim[hi, k])
        gain = ll_o - ll_c
        pit = randomized_pit(probs, k, rng)
        d, p = ks_uniform_pvalue(pit)
        null = ece_null(probs, 10, rng, null_draws)
        ece = classwise_ece(probs, k)
        reports.append(
            HorizonReport(
                horizon_s=float(h),
                n=len(k),
                oracle_ll=float(ll_o.mean()),
                climatology_ll=float(ll_c.mean()),
                gain_se=float(gain.std(ddof=1) / math.sqrt(len(k))),
                ece=ece,
                ece_null_q99=float(np.quantile(null, 0.99)),
                ece_p=float((1 + (null >= ece).sum()) / (1 + len(null))),
                ks_d=d,
                ks_p=p,
                mc_stderr=float(np.nanmean(res.stderr[ok, 0])),
            )
        )
    return reports


def format_reports(reports: Sequence[HorizonReport]) -> str:
    head = (
        f"{'h (s)':>6} {'n':>6} {'oracle LL':>10} {'clim LL':>9} {'gain':>7} {'±se':>6} "
        f"{'ECE':>6} {'null q99':>8} {'ECE p':>6} {'KS D':>6} {'KS p':>6} {'MC se':>8}"
    )
    lines = [head]
    for r in reports:
        lines.append(
            f"{r.horizon_s:>6.0f} {r.n:>6d} {r.oracle_ll:>10.4f} {r.climatology_ll:>9.4f} "
            f"{r.oracle_ll - r.climatology_ll:>7.4f} {r.gain_se:>6.4f} {r.ece:>6.4f} "
            f"{r.ece_null_q99:>8.4f} {r.ece_p:>6.3f} {r.ks_d:>6.4f} {r.ks_p:>6.3f} "
            f"{r.mc_stderr:>8.2e}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="default", choices=["calm", "default", "stressed"])
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--train-days", type=int, default=3)
    parser.add_argument("--max-rows", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    cfg = SyntheticConfig(preset=args.preset, n_days=args.days, seed=args.seed, options=False)
    reports = evaluate(cfg, train_days=args.train_days, max_rows=args.max_rows, seed=args.seed)
    print(f"preset={args.preset} days={args.days} train_days={args.train_days} seed={args.seed}")
    print(format_reports(reports))


if __name__ == "__main__":
    main()
