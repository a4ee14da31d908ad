"""Discretizers: forward log returns (bps) → bucket ids; bar windows → bucket edges (in-graph)."""

from ash.components.discretizers.base import (
    OUTER_EDGE_BPS,
    EdgeDiscretizer,
    bucketize,
    centers,
)
from ash.components.discretizers.fixed_width import FixedWidthDiscretizer
from ash.components.discretizers.lattice import LatticeDiscretizer
from ash.components.discretizers.log_return import LogReturnDiscretizer
from ash.components.discretizers.quantile import QuantileDiscretizer
from ash.components.discretizers.vol_scaled import VolScaledDiscretizer

__all__ = [
    "OUTER_EDGE_BPS",
    "EdgeDiscretizer",
    "FixedWidthDiscretizer",
    "LatticeDiscretizer",
    "LogReturnDiscretizer",
    "QuantileDiscretizer",
    "VolScaledDiscretizer",
    "bucketize",
    "centers",
]
