"""Every built-in feature builder against a straightforward pandas/numpy reference.

The references are written independently of the torch code (pandas ``rolling(min_periods=1)``,
``shift`` back-filled with the first value, plain loops for correlations) and are compared at
every position after the builder's warm-up: the positions a model reads (it feeds a builder
``warmup + steps`` bars and reads the last ``steps``), computed over a 2400-bar series, so a
feature must not depend on how many bars precede it. Builders output 0 during their warm-up
(the interface allows any finite value there; computing only what is read keeps the exported
graph small), which is asserted too. The bar source is the ``reference_bars`` fixture
(synthetic by default, real bars via ``ASH_REFERENCE_BARS``, see conftest).

Two comparisons per builder: the module run in float64 must match to 1e-5 relative (it does to
~1e-12: any formula difference shows up); the float32 module (what is exported) must match to
1e-5 relative with an absolute slack of 1e-5 × the feature's typical size (its RMS) + 1e-6, since
float32 cannot resolve a near-zero value to 1e-5 of *itself* (e.g. a log-ratio of two ~5-sized
logs near 0 carries ~5e-7 of float32 rounding).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import torch

from ash.components import features as F
from ash.interfaces import FeatureBuilder, ModelContext

YEAR_S = 252 * 6.5 * 3600


def roll_sum(x: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(x).rolling(n, min_periods=1).sum().to_numpy()


def roll_mean(x: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(x).rolling(n, min_periods=1).mean().to_numpy()


def shifted(x: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(x).shift(n).fillna(x[0]).to_numpy()


def log_ret(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    ok = (new > 0) & (old > 0)
    return np.where(ok, 1e4 * np.log(np.where(ok, new, 1.0) / np.where(ok, old, 1.0)), 0.0)


def guarded(num: np.ndarray, den: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    ok = np.abs(den) > eps
    return np.where(ok, num / np.where(ok, den, 1.0), 0.0)


def realized(p: np.ndarray, n: int) -> np.ndarray:
    r = log_ret(p, shifted(p, 1))
    return np.sqrt(np.maximum(roll_mean(r * r, n), 1e-12))


def corr_loop(x: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros_like(x)
    for t in range(len(x)):
        a, b = x[max(0, t - n + 1) : t + 1], y[max(0, t - n + 1) : t + 1]
        cov = np.mean(a * b) - a.mean() * b.mean()
        den = np.sqrt(
            max(np.mean(a * a) - a.mean() ** 2, 0.0) * max(np.mean(b * b) - b.mean() ** 2, 0.0)
        )
        out[t] = np.clip(cov / den, -1, 1) if den > 1e-12 else 0.0
    return out


Cols = Callable[[str], np.ndarray]


def ref_returns(c: Cols, ctx: ModelContext) -> list[np.ndarray]:
    p = c("mid")
    return [log_ret(p, shifted(p, n)) for n in (1, 5, 15, 60, 300)]


def ref_vwap(c: Cols, ctx: ModelContext) -> list[np.ndarray]:
    vwap, vol, mid = c("vwap"), np.maximum(c("volume"), 0), c("mid")
    has = (vol > 0) & (vwap > 0)
    out = [np.where(has, log_ret(vwap, mid), 0.0)]
    for n in (30, 300):
        traded = roll_sum(np.where(has, vol, 0.0), n)
        rvwap = guarded(roll_sum(np.where(has, vwap * vol, 0.0), n), traded)
        out.append(np.where(traded > 0, log_ret(mid, rvwap), 0.0))
    return out


def ref_realized(c: Cols, ctx: ModelContext) -> list[np.ndarray]:
    return [realized(c("mid"), n) for n in (10, 60, 300)]


def ref_volvol(c: Cols, ctx: ModelContext) -> list[np.ndarray]:
    rs, rl = realized(c("mid"), 30), realized(c("mid"), 300)
    var = pd.Series(rs).rolling(300, min_periods=1).var(ddof=0).to_numpy()
    return [np.sqrt(np.maximum(var, 1e-12)), np.log(rs + 1e-3) - np.log(rl + 1e-3)]


def ref_ivrv(c: Cols, ctx: ModelContext) -> list[np.ndarray]:
    iv = np.maximum(c("atm_iv_30d"), 0)
    rv = realized(c("mid"), 300) * 1e-4 * np.sqrt(YEAR_S / ctx.bar_seconds)
    return [iv - rv, np.log(iv + 1e-3) - np.log(rv + 1e-3)]


def ref_order_flow(c: Cols, ctx: ModelContext) -> list[np.ndarray]:
    buy, sell = c("buy_volume"), c("sell_volume")
    bs, asz = c("bid_size"), c("ask_size")
    looks = (10, 60, 300)
    flow = [guarded(roll_sum(buy - sell, n), roll_sum(buy + sell, n)) for n in looks]
    quote = guarded(bs - asz, bs + asz)
    return [*flow, quote, *(roll_mean(quote, n) for n in looks)]


def ref_trade_size(c: Cols, ctx: ModelContext) -> list[np.ndarray]:
    vol, cnt = c("volume"), c("trade_count")
    size = {n: np.log1p(guarded(roll_sum(vol, n), roll_sum(cnt, n))) for n in (60, 300, 600)}
    return [size[60], size[300], size[60] - size[600], size[300] - size[600]]


def ref_arrival(c: Cols, ctx: ModelContext) -> list[np.ndarray]:
    vol, cnt, s = c("volume"), c("trade_count"), ctx.bar_seconds
    base = np.log1p(roll_mean(vol, 600) / s)
    looks = (10, 60, 300)
    return [
        *(np.log1p(roll_mean(cnt, n) / s) for n in looks),
        *(np.log1p(roll_mean(vol, n) / s) - base for n in looks),
    ]


def ref_options(c: Cols, ctx: ModelContext) -> list[np.ndarray]:
    def slog(x: np.ndarray) -> np.ndarray:
        return np.sign(x) * np.log1p(np.abs(x))

    iv30 = c("atm_iv_30d")
    return [
        c("atm_iv_7d"),
        iv30,
        c("atm_iv_90d"),
        c("iv_k095_30d") - c("iv_k105_30d"),
        0.5 * (c("iv_k090_30d") + c("iv_k110_30d")) - c("iv_k100_30d"),
        c("term_slope"),
        *(slog(c(g)) for g in ("oi_delta", "oi_gamma", "oi_vega", "oi_theta")),
        np.log(np.maximum(c("pc_volume_ratio") + 1e-3, 1e-9)),
        np.log(np.maximum(c("pc_oi_ratio") + 1e-3, 1e-9)),
        iv30 - shifted(iv30, 60),
    ]


def ref_cross(c: Cols, ctx: ModelContext) -> list[np.ndarray]:
    o, p = c("ctx_mid"), c("mid")
    ro, rp = log_ret(o, shifted(o, 1)), log_ret(p, shifted(p, 1))
    return [
        log_ret(o, shifted(o, 1)),
        log_ret(o, shifted(o, 60)),
        corr_loop(rp, ro, 60),
        corr_loop(rp, ro, 300),
        corr_loop(rp, shifted(ro, 1), 300),
        corr_loop(rp, shifted(ro, 5), 300),
    ]


def ref_time(c: Cols, ctx: ModelContext) -> list[np.ndarray]:
    frac = np.clip((c("time_of_day") - 34_200) / 23_400, -0.5, 1.5)
    recent = np.clip(roll_sum(np.clip(c("session_start"), 0, 1), 300), 0, 1)
    return [frac, np.sin(2 * np.pi * frac), np.cos(2 * np.pi * frac), recent]


def ref_regimes(c: Cols, ctx: ModelContext) -> list[np.ndarray]:
    def one_hot(x: np.ndarray, edges: tuple[float, ...]) -> list[np.ndarray]:
        ids = np.searchsorted(np.asarray(edges), x, side="right")
        return [(ids == k).astype(float) for k in range(len(edges) + 1)]

    iv = np.maximum(c("atm_iv_30d"), 0)
    rv = realized(c("mid"), 300) * 1e-4 * np.sqrt(YEAR_S / ctx.bar_seconds)
    vol = c("volume")
    rel = guarded(roll_mean(vol, 60), roll_mean(vol, 600))
    return [
        *one_hot(iv, (0.12, 0.16, 0.22, 0.30)),
        *one_hot(rv, (0.08, 0.12, 0.18, 0.28)),
        *one_hot(rel, (0.5, 0.8, 1.25, 2.0)),
    ]


REFERENCES: dict[type[FeatureBuilder], Callable[[Cols, ModelContext], list[np.ndarray]]] = {
    F.Returns: ref_returns,
    F.VwapDeviation: ref_vwap,
    F.RealizedVol: ref_realized,
    F.VolOfVol: ref_volvol,
    F.IvRvSpread: ref_ivrv,
    F.OrderFlow: ref_order_flow,
    F.TradeSize: ref_trade_size,
    F.ArrivalRate: ref_arrival,
    F.OptionSurface: ref_options,
    F.CrossAsset: ref_cross,
    F.TimeOfDay: ref_time,
    F.RegimeBuckets: ref_regimes,
}


def test_every_builtin_builder_has_a_reference() -> None:
    assert set(REFERENCES) == set(F.ALL_FEATURE_BUILDERS)


def _reference(cls: type[FeatureBuilder], ctx: ModelContext, bars: torch.Tensor) -> np.ndarray:
    out = []
    for b in range(bars.shape[0]):
        data = bars[b].double().numpy()

        def col(name: str, data: np.ndarray = data) -> np.ndarray:
            return data[:, ctx.column(name)]

        out.append(np.stack(REFERENCES[cls](col, ctx), axis=-1))
    return np.stack(out)


def assert_matches(
    got: np.ndarray, ref: np.ndarray, atol: np.ndarray | float, names: tuple[str, ...], label: str
) -> None:
    """|got − ref| <= 1e-5·|ref| + atol everywhere; the failure names the feature and step."""
    excess = np.abs(got - ref) - (1e-5 * np.abs(ref) + atol)
    if (excess > 0).any():
        b, t, f = np.unravel_index(int(np.argmax(excess)), excess.shape)
        raise AssertionError(
            f"{label}: feature {names[f]!r} at sample {b}, step {t}: {got[b, t, f]!r} vs "
            f"reference {ref[b, t, f]!r}"
        )


@pytest.mark.parametrize("cls", F.ALL_FEATURE_BUILDERS, ids=lambda c: c.name)
def test_builder_matches_reference(
    cls: type[FeatureBuilder], reference_bars: tuple[ModelContext, torch.Tensor]
) -> None:
    ctx, bars = reference_bars
    builder = cls(cls.Config(), ctx)
    ref = _reference(cls, ctx, bars)
    with torch.no_grad():
        got64 = builder.double()(bars.double()).numpy()
        got32 = builder.float()(bars).double().numpy()
    assert got64.shape == ref.shape, builder.feature_names
    names = builder.feature_names
    warm = builder.warmup
    assert (got64[:, :warm] == 0).all() and (got32[:, :warm] == 0).all(), "warm-up not 0"
    got64, got32, ref = got64[:, warm:], got32[:, warm:], ref[:, warm:]
    assert_matches(got64, ref, 1e-9, names, f"float64 (steps from warm-up {warm})")
    if cls is F.RegimeBuckets:  # one-hot: float32 may flip a value sitting on an edge
        assert np.mean(got32 != ref) < 1e-3
        return
    typical = np.sqrt(np.mean(ref**2, axis=(0, 1), keepdims=True)) + 1e-12
    assert_matches(got32, ref, 1e-5 * typical + 1e-6, names, f"float32 (steps from {warm})")
