"""Causal, in-graph feature builders, one module per family."""

from ash.components.features.calendar import TimeOfDay
from ash.components.features.cross_asset import CrossAsset
from ash.components.features.options import OptionSurface
from ash.components.features.order_flow import OrderFlow
from ash.components.features.regimes import RegimeBuckets
from ash.components.features.returns import Returns
from ash.components.features.trades import ArrivalRate, TradeSize
from ash.components.features.volatility import IvRvSpread, RealizedVol, VolOfVol
from ash.components.features.vwap import VwapDeviation

ALL_FEATURE_BUILDERS = (
    Returns,
    VwapDeviation,
    RealizedVol,
    VolOfVol,
    IvRvSpread,
    OrderFlow,
    TradeSize,
    ArrivalRate,
    OptionSurface,
    CrossAsset,
    TimeOfDay,
    RegimeBuckets,
)

__all__ = [
    "ALL_FEATURE_BUILDERS",
    "ArrivalRate",
    "CrossAsset",
    "IvRvSpread",
    "OptionSurface",
    "OrderFlow",
    "RealizedVol",
    "RegimeBuckets",
    "Returns",
    "TimeOfDay",
    "TradeSize",
    "VolOfVol",
    "VwapDeviation",
]
