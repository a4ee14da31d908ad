"""The oracle: the true distribution of the observed forward mid return given the latent state.

For a bar ending at ``T`` the observed mid is the canonical mid of the last quote at or before
``T`` (fine step ``j0``); the target at horizon ``h`` is ``r = 1e4·ln(mid(j1)/mid(j0))`` with
``j1`` the last quote at or before ``T + h``. Given the full latent state at ``j0`` (log price,
drift, regime, log-vol, the index path), the log-price change ``Δx = x(j1) − x(j0)`` is

* conditionally Gaussian given the future volatility path: the drift part integrates the OU
  drift exactly on the fine grid, the diffusion part sums σ² over the path, and the index
  lead-lag splits into a known part (index moves already made) and a Gaussian part;
* a Poisson mixture over the number of price jumps (summed exactly up to a cap);
* and the spread at ``j1`` (its parity decides the half-tick lattice of the mid) is a two-point
  law given σ there.

Only the volatility/regime path is sampled (Monte Carlo, antithetic, common random numbers per
step seeded by ``oracle_seed``); everything else is integrated in closed form, including the
rounding of the efficient price to the quote lattice: for each bucket edge ``e`` the oracle finds
the smallest mid ``m`` on the lattice with ``1e4·ln(m/mid0) ≥ e`` (computed with the same floats
as the realized target) and ``P(r ≥ e) = P(S(j1) ≥ m − tick/2)``.

Bucket convention (contract v1): bucket ``k`` is ``[e_k, e_{k+1})``; bucket 0 extends to −∞ and
bucket ``K−1`` to +∞ whatever the outer edge values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ash.synthetic.dynamics import F64, I64, mid_price
from ash.synthetic.oracle_lattice import lattice_thresholds, survival
from ash.synthetic.simulate import LatentDay
from ash.synthetic.simulator import Simulator

ROW_CHUNK = 1024  # rows per vol-path Monte Carlo batch


@dataclass(frozen=True)
class OracleResult:
    """Probabilities ``[N, H, K]`` and their Monte Carlo standard errors (same shape)."""

    probs: F64
    stderr: F64


def bucketize(returns_bps: F64, edges_bps: F64) -> I64:
    """Bucket index of each return under the contract's rule (``[e_k, e_{k+1})``, open ends).

    ``returns_bps`` is ``[N, H]``, ``edges_bps`` ``[N, H, K+1]``; NaN returns give ``-1``.
    """
    r = np.asarray(returns_bps, dtype=np.float64)
    inner = np.asarray(edges_bps, dtype=np.float64)[..., 1:-1]
    k = (r[..., None] >= inner).sum(axis=-1).astype(np.int64)
    return np.where(np.isnan(r), -1, k)


def _rows_by_value(values: I64) -> dict[int, I64]:
    """Row indices grouped by value (``{value: rows}``)."""
    order = np.argsort(values, kind="stable")
    uniq, first = np.unique(values[order], return_index=True)
    bounds = [*first.tolist(), len(values)]
    return {int(v): order[bounds[i] : bounds[i + 1]] for i, v in enumerate(uniq)}


class Oracle:
    """True conditional bucket probabilities of the synthetic market's observed targets."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.cfg = sim.cfg
        self.dyn = sim.dyn
        self.n_samples = self.cfg.oracle_samples
        self._drift_var_table = np.zeros(1)

    # ---- public API -----------------------------------------------------------------------

    def symbols(self) -> list[str]:
        out = [self.cfg.symbol]
        if self.cfg.context_symbol is not None:
            out.append(self.cfg.context_symbol)
        return out

    def realized_returns(
        self, symbol: str, bar_end_ts: np.ndarray, horizons_s: Sequence[float]
    ) -> F64:
        """The observed targets ``[N, H]`` in bps (NaN where ``T + h`` leaves the session)."""
        out = np.full((len(bar_end_ts), len(horizons_s)), np.nan)
        for day, rows, j0 in self._locate(bar_end_ts):
            lat = self.sim.latent(day)
            q, tick = self._lattice(lat, symbol)
            m0 = mid_price(q[j0], tick)
            for hi, h in enumerate(horizons_s):
                j1, ok = self._target_step(rows, bar_end_ts, day, h)
                r = 1e4 * np.log(mid_price(q[np.where(ok, j1, j0)], tick) / m0)
                out[rows, hi] = np.where(ok, r, np.nan)
        return out

    def state(self, bar_end_ts: np.ndarray) -> dict[str, F64]:
        """The stock's latent state at each bar end's last quote (NaN outside sessions).

        ``price`` efficient price, ``drift_bps_per_s`` hidden drift, ``sigma_bps`` volatility per
        √s, ``logvol_fast``/``logvol_slow`` the two log-vol factors, ``regime``, ``spread_ticks``.
        """
        ts = self._check_ts(bar_end_ts)
        names = ("price", "drift_bps_per_s", "sigma_bps", "logvol_fast", "logvol_slow")
        out = {k: np.full(len(ts), np.nan) for k in (*names, "regime", "spread_ticks")}
        for day, rows, j0 in self._locate(ts):
            lat = self.sim.latent(day)
            c = j0 // self.dyn.ratio
            out["price"][rows] = np.exp(lat.x[j0])
            out["drift_bps_per_s"][rows] = lat.mu[j0] * 1e4
            out["sigma_bps"][rows] = lat.sigma[c] * 1e4
            out["logvol_fast"][rows] = lat.h[c]
            out["logvol_slow"][rows] = lat.slow[c]
            out["regime"][rows] = lat.regime[c]
            out["spread_ticks"][rows] = lat.spread[c]
        return out

    def probabilities(
        self,
        symbol: str,
        bar_end_ts: np.ndarray,
        horizons_s: Sequence[float],
        edges_bps: np.ndarray,
    ) -> F64:
        """``P(target in bucket k | latent state at bar end)``, ``[N, H, K]``.

        Rows where the bar end is outside a session, or ``T + h`` is past the close, are NaN.
        """
        return self.predict(symbol, bar_end_ts, horizons_s, edges_bps).probs

    def predict(
        self,
        symbol: str,
        bar_end_ts: np.ndarray,
        horizons_s: Sequence[float],
        edges_bps: np.ndarray,
    ) -> OracleResult:
        """Probabilities with their Monte Carlo standard errors."""
        ts = self._check_ts(bar_end_ts)
        horizons = [float(h) for h in horizons_s]
        if not horizons or any(h <= 0 for h in horizons):
            raise ValueError(f"horizons_s must be positive seconds, got {list(horizons_s)}")
        edges = np.asarray(edges_bps, dtype=np.float64)
        if edges.ndim != 3 or edges.shape[:2] != (len(ts), len(horizons)) or edges.shape[2] < 3:
            raise ValueError(
                f"edges_bps must be [N={len(ts)}, H={len(horizons)}, K+1>=3], got {edges.shape}"
            )
        if np.isnan(edges).any() or (np.diff(edges, axis=-1) <= 0).any():
            raise ValueError("edges_bps must be free of NaN and strictly increasing per row")
        self._lattice(None, symbol)  # validates the symbol
        probs = np.full((len(ts), len(horizons), edges.shape[2] - 1), np.nan)
        stderr = np.full_like(probs, np.nan)
        for day, rows, j0 in self._locate(ts):
            lat = self.sim.latent(day)
            for start in range(0, len(rows), ROW_CHUNK):
                sl = slice(start, start + ROW_CHUNK)
                p, se = self._predict_rows(
                    lat, symbol, ts[rows[sl]], day, j0[sl], horizons, edges[rows[sl]]
                )
                probs[rows[sl]] = p
                stderr[rows[sl]] = se
        return OracleResult(probs=probs, stderr=stderr)

    def log_likelihood(
        self,
        symbol: str,
        bar_end_ts: np.ndarray,
        horizons_s: Sequence[float],
        edges_bps: np.ndarray,
        realized_bps: np.ndarray | None = None,
    ) -> F64:
        """``ln P(realized bucket)`` ``[N, H]`` (realized targets default to the true ones)."""
        probs = self.probabilities(symbol, bar_end_ts, horizons_s, edges_bps)
        if realized_bps is None:
            realized_bps = self.realized_returns(symbol, bar_end_ts, horizons_s)
        k = bucketize(realized_bps, edges_bps)
        picked = np.take_along_axis(probs, np.maximum(k, 0)[..., None], axis=-1)[..., 0]
        with np.errstate(divide="ignore"):
            return np.where(k >= 0, np.log(picked), np.nan)

    # ---- locating bar ends ----------------------------------------------------------------

    def _check_ts(self, bar_end_ts: np.ndarray | pd.Series | pd.Index) -> I64:
        if isinstance(bar_end_ts, pd.Series | pd.Index) and bar_end_ts.dtype.kind == "M":
            return np.asarray(pd.DatetimeIndex(bar_end_ts).asi8, dtype=np.int64)
        ts = np.asarray(bar_end_ts)
        if ts.dtype.kind == "M":
            ts = ts.astype("datetime64[ns]").astype(np.int64)
        if ts.ndim != 1 or ts.dtype.kind not in "iu":
            raise TypeError(
                "bar_end_ts must be a 1-D array of int64 UTC nanoseconds (or datetime64), "
                f"got dtype {ts.dtype} and shape {ts.shape}"
            )
        return ts.astype(np.int64)

    def _session_ns(self) -> int:
        return round(self.cfg.session_seconds * 1e9)

    def _locate(self, ts: I64) -> list[tuple[int, I64, I64]]:
        """Group rows by session: ``(day, row indices, j0)`` for bar ends with a quote."""
        ts = self._check_ts(ts)
        day = np.searchsorted(self.sim.opens_ns, ts, side="right") - 1
        fine = self.dyn.fine_ns
        off = ts - self.sim.opens_ns[np.maximum(day, 0)]
        j0 = (off - fine // 2) // fine
        ok = (day >= 0) & (off <= self._session_ns()) & (j0 >= 0)
        groups = []
        for d in np.unique(day[ok]):
            rows = np.flatnonzero(ok & (day == d))
            groups.append((int(d), rows, j0[rows]))
        return groups

    def _target_step(self, rows: I64, ts: np.ndarray, day: int, h: float) -> tuple[I64, np.ndarray]:
        fine = self.dyn.fine_ns
        off1 = np.asarray(ts)[rows].astype(np.int64) - int(self.sim.opens_ns[day]) + round(h * 1e9)
        j1 = (off1 - fine // 2) // fine
        return j1, off1 <= self._session_ns()

    def _lattice(self, lat: LatentDay | None, symbol: str) -> tuple[I64, float]:
        if symbol == self.cfg.symbol:
            return (lat.q if lat is not None else np.zeros(0, np.int64)), self.cfg.tick_size
        if self.cfg.context_symbol is not None and symbol == self.cfg.context_symbol:
            if lat is None:
                return np.zeros(0, np.int64), self.cfg.context_tick_size
            assert lat.q_index is not None
            return lat.q_index, self.cfg.context_tick_size
        raise KeyError(f"the oracle knows symbols {self.symbols()}, not {symbol!r}")

    # ---- the computation ------------------------------------------------------------------

    def _drift_var(self, n: I64) -> F64:
        """Variance of Σ_{i<n} μ_i·dt given μ_0 (exact for the fine-grid AR(1))."""
        need = int(n.max()) + 1 if n.size else 1
        if self._drift_var_table.shape[0] < need:
            phi, dt_, s = self.dyn.phi_mu, self.dyn.dt, self.dyn.drift_innov
            ell = np.arange(need, dtype=np.float64)
            terms = ((1.0 - phi**ell) / (1.0 - phi)) ** 2  # l = n − m for m = 1..n−1
            terms[0] = 0.0
            self._drift_var_table = (s * dt_) ** 2 * np.cumsum(terms)
        # Σ_{l=1}^{n−1}
        return self._drift_var_table[np.maximum(n - 1, 0)]

    def _paths_noise(self, steps: int) -> tuple[F64, F64, F64]:
        """Uniforms and two antithetic normals ``[S, steps]``; column k seeded by (seed, k)."""
        half = self.n_samples // 2
        u = np.empty((self.n_samples, steps))
        z = np.empty((self.n_samples, steps))
        z2 = np.empty((self.n_samples, steps))
        for k in range(steps):
            rng = np.random.default_rng(
                np.random.SeedSequence(self.cfg.oracle_seed, spawn_key=(k,))
            )
            uu = rng.random(half)
            zz = rng.standard_normal(half)
            zs = rng.standard_normal(half)
            u[:half, k], u[half:, k] = uu, 1.0 - uu
            z[:half, k], z[half:, k] = zz, -zz
            z2[:half, k], z2[half:, k] = zs, -zs
        return u, z, z2

    def _predict_rows(
        self,
        lat: LatentDay,
        symbol: str,
        ts: I64,
        day: int,
        j0: I64,
        horizons: list[float],
        edges: F64,
    ) -> tuple[F64, F64]:
        dyn = self.dyn
        R, S = dyn.ratio, self.n_samples
        is_stock = symbol == self.cfg.symbol
        q, tick = self._lattice(lat, symbol)
        B = len(j0)
        fine, opens = dyn.fine_ns, int(self.sim.opens_ns[day])
        j1s, oks = [], []
        for h in horizons:
            off1 = ts - opens + round(h * 1e9)
            j1s.append((off1 - fine // 2) // fine)
            oks.append(off1 <= self._session_ns())
        j1 = np.stack(j1s, axis=1)  # [B, H]
        ok = np.stack(oks, axis=1)
        j1 = np.where(ok, j1, j0[:, None])
        c0 = j0 // R
        k1 = j1 // R - c0[:, None]  # local vol step of the target quote
        steps = int(k1.max()) if k1.size else 0

        # vol-path Monte Carlo: σ² and jump rate along the path, recorded where needed
        u, z, z2 = self._paths_noise(max(steps, 1))
        regime = np.broadcast_to(lat.regime[c0][:, None], (B, S)).copy()
        hvol = np.broadcast_to(lat.h[c0][:, None], (B, S)).copy()
        slow = np.broadcast_to(lat.slow[c0][:, None], (B, S)).copy()
        sig2 = np.broadcast_to((lat.sigma[c0] ** 2)[:, None], (B, S)).copy()
        lam = dyn.jump_rate[regime]
        cnt0 = ((c0 + 1) * R - j0).astype(np.float64)  # fine steps of j0's vol step from j0
        # cumulative Σ σ²·count and Σ λ·count over completed vol steps, per row & sample
        cum_s = np.zeros((B, S))
        cum_l = np.zeros((B, S))
        H = len(horizons)
        var_at = np.zeros((B, H, S))  # F(j1) in σ² units (times dt later)
        lam_at = np.zeros((B, H, S))
        sig_at_target = np.zeros((B, H, S))
        var_lag = np.zeros((B, H, S))  # F(max(j1 − L, j0))
        jl = np.maximum(j1 - dyn.lag_steps, j0[:, None])
        kl = jl // R - c0[:, None]
        # rows whose target (and lag cut) falls in each local vol step, per horizon
        at_step = [_rows_by_value(k1[:, hi]) for hi in range(H)]
        lag_step = [_rows_by_value(kl[:, hi]) for hi in range(H)]
        sample = np.arange(S)[None, :]
        for k in range(steps + 1):
            if k > 0:
                # common random numbers: one next-regime table [R_regimes, S] for all rows
                table = dyn.next_regime(
                    np.arange(len(dyn.regime_level))[:, None], u[None, :, k - 1]
                )
                regime = table[regime, sample]
                hvol = dyn.next_logvol(hvol, regime, np.broadcast_to(z[:, k - 1], (B, S)))
                slow = dyn.next_slow(slow, np.broadcast_to(z2[:, k - 1], (B, S)))
                vidx = np.minimum(c0 + k, dyn.n_vol - 1)[:, None]
                sig2 = dyn.sigma(hvol, slow, vidx) ** 2
                lam = dyn.jump_rate[regime]
            start = np.where(k == 0, j0, (c0 + k) * R)[:, None]  # first fine step counted here
            for hi in range(H):
                at = at_step[hi].get(k)
                if at is not None:
                    partial = (j1[at, hi][:, None] - start[at]).astype(np.float64)
                    var_at[at, hi] = cum_s[at] + partial * sig2[at]
                    lam_at[at, hi] = cum_l[at] + partial * lam[at]
                    sig_at_target[at, hi] = np.sqrt(sig2[at])
                atl = lag_step[hi].get(k)
                if atl is not None:
                    partial = (jl[atl, hi][:, None] - start[atl]).astype(np.float64)
                    var_lag[atl, hi] = cum_s[atl] + partial * sig2[atl]
            count = np.where(k == 0, cnt0, float(R))[:, None]
            cum_s = cum_s + count * sig2
            cum_l = cum_l + count * lam

        dt_ = dyn.dt
        n = j1 - j0[:, None]  # [B, H]
        if is_stock:
            mean = (lat.mu[j0][:, None] * dt_ * (1 - dyn.phi_mu**n) / (1 - dyn.phi_mu))[..., None]
            var = self._drift_var(n)[..., None] + dt_ * (
                (1 - dyn.rho**2) * var_at + dyn.rho**2 * var_lag
            )
            if lat.x_index is not None and dyn.lag_steps >= 0 and dyn.rho > 0:
                xi = lat.x_index
                L = dyn.lag_steps
                hi_idx = np.clip(np.minimum(j1 - L, j0[:, None]), 0, None)
                lo_idx = np.clip(j0 - L, 0, None)[:, None]
                known = dyn.ctx_beta * (xi[hi_idx] - xi[lo_idx])
                mean = mean + np.where(hi_idx > lo_idx, known, 0.0)[..., None]
            jump_mean = dt_ * lam_at
            x0 = lat.x[j0]
        else:
            assert lat.x_index is not None
            mean = np.zeros((B, H, 1))
            var = dt_ * dyn.ctx_vol_mult**2 * var_at
            jump_mean = np.zeros((B, H, S))
            x0 = lat.x_index[j0]
        mean = np.broadcast_to(mean, (B, H, S))

        # spread parity at the target quote: weights of odd/even mid lattices
        w_odd = np.zeros((B, H, S))
        if is_stock:
            a, frac = dyn.spread_lower(sig_at_target)
            odd_a = (a % 2 == 1).astype(np.float64)
            w_odd = odd_a * (1 - frac) + (1 - odd_a) * frac
            same = (k1 == 0)[..., None]
            known_odd = (lat.spread[c0] % 2 == 1).astype(np.float64)[:, None, None]
            w_odd = np.where(same, known_odd, w_odd)
        else:
            w_odd[:] = 1.0  # the index is quoted one tick wide
        q0 = q[j0]
        m0 = mid_price(q0, tick)

        # thresholds: for each edge and parity, log-price change needed for r ≥ e
        thr = lattice_thresholds(edges, m0, x0, tick)  # [B, H, K+1, 2] (even, odd)
        surv = survival(
            thr, mean, var, jump_mean, w_odd, self.dyn.jump_std, self.cfg.oracle_max_jumps
        )  # [B, H, K+1, S]
        surv[:, :, 0, :] = 1.0
        surv[:, :, -1, :] = 0.0
        p_s = np.clip(surv[:, :, :-1, :] - surv[:, :, 1:, :], 0.0, None)
        p_s = p_s / p_s.sum(axis=2, keepdims=True)
        half = S // 2
        pairs = 0.5 * (p_s[..., :half] + p_s[..., half:])
        probs = pairs.mean(axis=-1)
        se = pairs.std(axis=-1, ddof=1) / np.sqrt(half)
        probs = probs / probs.sum(axis=-1, keepdims=True)
        probs[~ok] = np.nan
        se[~ok] = np.nan
        return probs, se
