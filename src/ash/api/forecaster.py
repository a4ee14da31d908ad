"""What a run and an exported model share as forecasters: bars from ticks, a forecast table.

A forecaster predicts on every bar that has a full window (the bars a live ``ash-serve`` would
predict on) and answers the tidy table of :mod:`ash.evaluate.forecasts`. Subclasses only say how
they turn ``[B, window, C]`` bar windows into the contract's ``(probs, edges)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import pandas as pd

from ash.api.ticks import as_pandas
from ash.bars.builder import build_bars
from ash.bars.result import Bars
from ash.bars.spec import BarSpec
from ash.decoding import DEFAULT_QUANTILES
from ash.evaluate.forecasts import forecast_frame
from ash.jobs.replay import model_inputs, prediction_ends


class Forecaster(ABC):
    """Bars in, distributions out; ``spec``/``columns``/``window``/``horizons_s`` describe the
    model's inputs and outputs."""

    spec: BarSpec
    columns: tuple[str, ...]
    window: int
    horizons_s: tuple[float, ...]

    @abstractmethod
    def outputs(self, values: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(probs[N, H, K], edges[N, H, K + 1])`` of the windows of ``values[T, C]`` (the
        model's columns) ending at ``ends``."""

    def build_bars(self, trades: Any, quotes: Any = None, *, symbol: str | None = None) -> Bars:
        """Bars of one symbol from canonical trades/quotes (pandas or polars) on this model's
        spec (bar length, time zone, gaps, session)."""
        return build_bars(
            as_pandas(trades, "trades"), as_pandas(quotes, "quotes"), spec=self.spec, symbol=symbol
        )

    def predict_bars(
        self,
        bars: Bars,
        *,
        quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
        bucket_probs: bool = False,
    ) -> pd.DataFrame:
        """The forecast table of every bar of ``bars`` with a full window."""
        ends = prediction_ends(bars, self.window)
        if len(ends) == 0:
            raise ValueError(
                f"no bar has a full window of {self.window} bars ({len(bars)} bars built); "
                f"pass at least {self.window} bars' worth of ticks "
                f"({self.window * self.spec.seconds:g} s of one session)"
            )
        probs, edges = self.outputs(model_inputs(bars, self.columns), ends)
        return forecast_frame(
            bars.ts_ns[ends],
            [bars.symbol] * len(ends),
            self.horizons_s,
            probs,
            edges,
            quantiles=quantiles,
            bucket_probs=bucket_probs,
        )

    def predict(
        self,
        trades: Any,
        quotes: Any = None,
        *,
        symbol: str | None = None,
        quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
        bucket_probs: bool = False,
    ) -> pd.DataFrame:
        """Forecasts for new ticks of one symbol: one row per (bar, symbol, horizon) with
        ``mean_bps``, ``p_up``, ``p_flat``, ``p_down`` and ``q…`` columns (``probs``/``edges``
        lists with ``bucket_probs``); see docs/python-api.md."""
        bars = self.build_bars(trades, quotes, symbol=symbol)
        return self.predict_bars(bars, quantiles=quantiles, bucket_probs=bucket_probs)
