"""Option-chain snapshots -> option-surface updates (``ts`` + OPTION_COLUMNS) for the builder.

Per snapshot (rows sharing one ``ts``) of one underlying, with spot ``S`` = the last underlying
price at or before the snapshot:

* smile of each expiry: the out-of-the-money IV at each strike (puts below spot, calls at/above;
  the other right when that one is missing), linear in moneyness ``K / S``; NaN outside the
  quoted strikes (no extrapolation).
* expiry buckets 7d/30d/90d: linear in total variance ``iv^2 * T`` between the expiries around
  the target, flat in IV beyond the first/last expiry.
* ``iv_kXXX_e`` at moneyness 0.90 ... 1.10 and ``atm_iv_e`` (moneyness 1.00).
* ``oi_delta``/``oi_gamma``/``oi_vega``/``oi_theta``: open-interest-weighted means of the greeks.
* ``pc_volume_ratio``, ``pc_oi_ratio``: puts over calls; ``term_slope`` = atm_iv_90d - atm_iv_7d.

A value that cannot be computed is NaN, which the bar builder reads as "keep the previous value".
"""

from __future__ import annotations

from itertools import pairwise
from typing import Final

import numpy as np
import pandas as pd

from ash.bars.columns import EXPIRY_BUCKETS, MONEYNESS_GRID, OPTION_COLUMNS
from ash.bars.events import F64, I64

_NEEDED: Final[tuple[str, ...]] = (
    "ts",
    "expiry",
    "strike",
    "right",
    "iv",
    "delta",
    "gamma",
    "vega",
    "theta",
    "volume",
    "open_interest",
)
_BUCKET_DAYS: Final[dict[str, float]] = {e: float(e.removesuffix("d")) for e in EXPIRY_BUCKETS}
_MONEYNESS: Final[dict[str, float]] = {k: int(k[1:]) / 100 for k in MONEYNESS_GRID}
_DAY_NS: Final[float] = 86_400e9


def surface_updates(options: pd.DataFrame, spot_ts_ns: I64, spot_price: F64) -> pd.DataFrame:
    """One row per snapshot: ``ts`` (UTC) and every OPTION_COLUMNS value (NaN if unknown).

    ``spot_ts_ns``/``spot_price``: the underlying's prices (e.g. bar ends and mids), sorted by time.
    """
    missing = [c for c in _NEEDED if c not in options.columns]
    if missing:
        raise ValueError(
            f"option snapshots lack columns {missing} (canonical schema: ash.data.schema.OPTIONS)"
        )
    if "underlying" in options.columns and options["underlying"].nunique() > 1:
        raise ValueError("option snapshots hold several underlyings; pass one at a time")
    spot_ts_ns = np.asarray(spot_ts_ns, dtype=np.int64)
    if len(spot_ts_ns) > 1 and (np.diff(spot_ts_ns) < 0).any():
        raise ValueError("spot_ts_ns must be sorted ascending")
    frame = options.copy()
    frame["ts_ns"] = frame["ts"].dt.tz_convert("UTC").dt.as_unit("ns").array.asi8
    frame["expiry_ns"] = frame["expiry"].dt.tz_convert("UTC").dt.as_unit("ns").array.asi8
    rows = []
    stamps = frame["ts_ns"].to_numpy(np.int64)
    for ts_ns in np.unique(stamps):
        j = int(np.searchsorted(spot_ts_ns, ts_ns, side="right")) - 1
        spot = float(spot_price[j]) if j >= 0 else float("nan")
        rows.append([int(ts_ns), *snapshot_columns(frame[stamps == ts_ns], int(ts_ns), spot)])
    out = pd.DataFrame(rows, columns=["ts_ns", *OPTION_COLUMNS])
    out.insert(0, "ts", pd.to_datetime(out.pop("ts_ns").to_numpy(np.int64), unit="ns", utc=True))
    return out


def snapshot_columns(chain: pd.DataFrame, ts_ns: int, spot: float) -> list[float]:
    """OPTION_COLUMNS values of one snapshot (in OPTION_COLUMNS order)."""
    values = dict.fromkeys(OPTION_COLUMNS, float("nan"))
    right = chain["right"].astype(str).str.upper().to_numpy()
    is_put, is_call = right == "P", right == "C"
    if np.isfinite(spot) and spot > 0:
        smiles = _smiles(chain, ts_ns, spot, is_put)
        for e, days in _BUCKET_DAYS.items():
            for k, m in _MONEYNESS.items():
                values[f"iv_{k}_{e}"] = _term_interpolate(smiles, days, m)
            values[f"atm_iv_{e}"] = _term_interpolate(smiles, days, 1.0)
    oi = chain["open_interest"].to_numpy(np.float64)
    for greek in ("delta", "gamma", "vega", "theta"):
        g = chain[greek].to_numpy(np.float64)
        ok = np.isfinite(g) & np.isfinite(oi) & (oi >= 0)
        weight = oi[ok].sum()
        values[f"oi_{greek}"] = float((oi[ok] * g[ok]).sum() / weight) if weight > 0 else np.nan
    volume = chain["volume"].to_numpy(np.float64)
    values["pc_volume_ratio"] = _ratio(volume, is_put, is_call)
    values["pc_oi_ratio"] = _ratio(oi, is_put, is_call)
    values["term_slope"] = values["atm_iv_90d"] - values["atm_iv_7d"]
    return [values[c] for c in OPTION_COLUMNS]


def _ratio(x: F64, num: np.ndarray, den: np.ndarray) -> float:
    ok = np.isfinite(x) & (x >= 0)
    bottom = x[ok & den].sum()
    return float(x[ok & num].sum() / bottom) if bottom > 0 else float("nan")


def _smiles(
    chain: pd.DataFrame, ts_ns: int, spot: float, is_put: np.ndarray
) -> list[tuple[float, F64, F64]]:
    """Per live expiry: (days to expiry, sorted moneyness, OTM IV)."""
    iv = chain["iv"].to_numpy(np.float64)
    strike = chain["strike"].to_numpy(np.float64)
    expiry = chain["expiry_ns"].to_numpy(np.int64)
    good = np.isfinite(iv) & (iv > 0) & np.isfinite(strike) & (strike > 0) & (expiry > ts_ns)
    out = []
    for exp in np.unique(expiry[good]):
        sel = good & (expiry == exp)
        k, v, put = strike[sel], iv[sel], is_put[sel]
        otm = np.where(k < spot, put, ~put)
        per_strike: dict[float, float] = {}
        for strike_k, iv_k, preferred in zip(k, v, otm, strict=True):
            if preferred or strike_k not in per_strike:
                per_strike[float(strike_k)] = float(iv_k)
        ks = np.array(sorted(per_strike))
        out.append(((exp - ts_ns) / _DAY_NS, ks / spot, np.array([per_strike[x] for x in ks])))
    return out


def _smile_at(m: F64, iv: F64, target: float) -> float:
    if not len(m) or target < m[0] or target > m[-1]:
        return float("nan")
    return float(np.interp(target, m, iv))


def _term_interpolate(smiles: list[tuple[float, F64, F64]], days: float, moneyness: float) -> float:
    points = [(t, _smile_at(m, iv, moneyness)) for t, m, iv in smiles]
    points = [(t, v) for t, v in points if np.isfinite(v)]
    if not points:
        return float("nan")
    if days <= points[0][0]:
        return points[0][1]
    if days >= points[-1][0]:
        return points[-1][1]
    for (t1, v1), (t2, v2) in pairwise(points):
        if t1 <= days <= t2:
            w = v1 * v1 * t1 + (v2 * v2 * t2 - v1 * v1 * t1) * (days - t1) / (t2 - t1)
            return float(np.sqrt(max(w, 0.0) / days))
    return float("nan")  # unreachable: points are sorted by expiry
