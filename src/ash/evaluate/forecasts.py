"""Forecasts as a tidy table: one row per (bar, symbol, horizon), and the run's forecasts on disk.

The same table comes from the Python API's predictions (:mod:`ash.api`), from ``ash replay
--out`` (the Rust runtime's predictions) and from evaluation, which saves the validation and test
forecasts with their realized returns in ``RUN/forecasts/{val,test}.parquet`` so a quant can
join them with anything. Columns (docs/python-api.md, "Forecast tables"):

- ``bar_ts`` (timestamp, UTC): start of the window's last bar (``ash-serve``'s ``bar_ts``); the
  forecast is made when that bar closes, ``bar_seconds`` later.
- ``symbol`` (string), ``horizon_s`` (float64): the horizon in seconds.
- ``mean_bps``, ``p_up``, ``p_flat``, ``p_down``, ``q0.05`` … ``q0.95`` (float64): the decoded
  distribution (:mod:`ash.decoding`, contract §4; P(flat) is the mass of the bucket a zero
  return falls into).
- with ``bucket_probs``: ``probs`` and ``edges`` (lists of float32, ``K`` and ``K + 1`` long).
- with realized returns (evaluation): ``realized_bps`` (float64, NaN when the horizon ran past
  the session), ``realized_bucket`` (int64, -1 when missing) and ``p_realized`` (the
  probability the forecast gave the realized bucket; NaN when missing), so
  ``-log(p_realized)`` is the NLL.

Nothing here imports torch: the ONNX predictor and the replay build the same table.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from ash.decoding import DEFAULT_QUANTILES, decode

if TYPE_CHECKING:
    from ash.evaluate.predict import SplitForecasts
    from ash.pipeline import PreparedData

FORECASTS_DIR = "forecasts"
KEY_COLUMNS = ("bar_ts", "symbol", "horizon_s")


def quantile_column(q: float) -> str:
    return f"q{q:g}"


def forecast_frame(
    bar_ts_ns: npt.ArrayLike,
    symbols: Sequence[str] | npt.ArrayLike,
    horizons_s: Sequence[float],
    probs: npt.ArrayLike,
    edges: npt.ArrayLike,
    *,
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
    bucket_probs: bool = False,
    realized_bps: npt.ArrayLike | None = None,
    realized_bucket: npt.ArrayLike | None = None,
) -> pd.DataFrame:
    """The tidy table of ``probs[N, H, K]`` / ``edges[N, H, K + 1]`` for N bars (one symbol
    each) and H horizons; ``realized_*`` are ``[N, H]``. Rows: bar-major, then horizon."""
    p = np.asarray(probs, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    n, h = p.shape[:2]
    if len(horizons_s) != h or e.shape != (n, h, p.shape[2] + 1):
        raise ValueError(
            f"probs {p.shape} / edges {e.shape} do not match {len(horizons_s)} horizons "
            "([N, H, K] and [N, H, K + 1])"
        )
    ts = np.asarray(bar_ts_ns, dtype=np.int64)
    names = np.asarray(symbols, dtype=object)
    if ts.shape != (n,) or names.shape != (n,):
        raise ValueError(
            f"need one bar_ts and one symbol per forecast row ({n}), got "
            f"{ts.shape} and {names.shape}"
        )
    d = decode(p, e, quantiles)
    columns: dict[str, object] = {
        "bar_ts": pd.to_datetime(np.repeat(ts, h), utc=True),
        "symbol": np.repeat(names, h).astype(str),
        "horizon_s": np.tile(np.asarray(horizons_s, dtype=np.float64), n),
        "mean_bps": d.mean_bps.ravel(),
        "p_up": d.p_up.ravel(),
        "p_flat": d.p_flat.ravel(),
        "p_down": d.p_down.ravel(),
        **{quantile_column(q): v.ravel() for q, v in d.quantiles.items()},
    }
    if bucket_probs:
        columns["probs"] = list(np.asarray(probs, dtype=np.float32).reshape(n * h, -1))
        columns["edges"] = list(np.asarray(edges, dtype=np.float32).reshape(n * h, -1))
    if realized_bps is not None:
        columns["realized_bps"] = np.asarray(realized_bps, dtype=np.float64).reshape(n * h)
    if realized_bucket is not None:
        ids = np.asarray(realized_bucket, dtype=np.int64).reshape(n * h)
        flat = p.reshape(n * h, -1)
        picked = flat[np.arange(n * h), np.clip(ids, 0, flat.shape[1] - 1)]
        columns["realized_bucket"] = ids
        columns["p_realized"] = np.where(ids >= 0, picked, np.nan)
    return pd.DataFrame(columns)


def split_frame(fc: SplitForecasts, prepared: PreparedData) -> pd.DataFrame:
    """The calibrated model's forecasts of one evaluated split, with the realized returns."""
    bars = prepared.bars
    symbols = np.asarray(bars.symbols, dtype=object)[bars.symbol_index[fc.ends]]
    return forecast_frame(
        bars.ts_ns[fc.ends],
        symbols,
        prepared.horizons_s,
        fc.probs["model"],
        fc.edges,
        realized_bps=fc.realized,
        realized_bucket=fc.ids,
    )


def write_forecasts(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` as Parquet (pyarrow) at ``path``; its folder is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, engine="pyarrow", index=False)
    return path


def save_split_forecasts(run_dir: Path, fc: SplitForecasts, prepared: PreparedData) -> Path:
    """``RUN/forecasts/<split>.parquet``: what evaluation scored on that split."""
    return write_forecasts(
        split_frame(fc, prepared), Path(run_dir) / FORECASTS_DIR / f"{fc.name}.parquet"
    )
