"""The versioned set of bar columns (``ash.bar_columns`` in the ONNX contract).

Changing names, order or meaning of these columns bumps ``BAR_COLUMNS_VERSION``; the Rust runtime
builds exactly these columns from ticks.
"""

from __future__ import annotations

from typing import Final

BAR_COLUMNS_VERSION: Final[int] = 1

CORE_COLUMNS: Final[tuple[str, ...]] = (
    "open",  # first trade price in the bar (forward-filled close when empty)
    "high",
    "low",
    "close",  # last trade price
    "vwap",  # volume-weighted average trade price (close when empty)
    "volume",  # shares traded
    "buy_volume",  # buyer-initiated volume (true side, else quote rule, else tick rule)
    "sell_volume",
    "trade_count",
    "bid",  # top of book at bar end (forward-filled)
    "ask",
    "mid",  # (bid + ask) / 2, or close where the source has no quotes
    "spread",  # ask - bid (0 where the source has no quotes)
    "bid_size",
    "ask_size",
    "session_start",  # 1.0 on the first bar of a session or after a gap, else 0.0
    "time_of_day",  # seconds since local midnight (exchange time zone) at bar start
)

EXPIRY_BUCKETS: Final[tuple[str, ...]] = ("7d", "30d", "90d")
MONEYNESS_GRID: Final[tuple[str, ...]] = ("k090", "k095", "k100", "k105", "k110")

OPTION_COLUMNS: Final[tuple[str, ...]] = (
    *(f"atm_iv_{e}" for e in EXPIRY_BUCKETS),
    *(f"iv_{k}_{e}" for e in EXPIRY_BUCKETS for k in MONEYNESS_GRID),
    "oi_delta",  # open-interest-weighted greeks over the chain
    "oi_gamma",
    "oi_vega",
    "oi_theta",
    "pc_volume_ratio",  # put volume / call volume
    "pc_oi_ratio",  # put open interest / call open interest
    "term_slope",  # atm_iv_90d - atm_iv_7d
)

CONTEXT_PREFIX: Final[str] = "ctx_"
CONTEXT_COLUMNS: Final[tuple[str, ...]] = tuple(
    f"{CONTEXT_PREFIX}{c}" for c in ("close", "mid", "volume", "buy_volume", "sell_volume")
)


def bar_columns(*, options: bool = False, context: bool = False) -> tuple[str, ...]:
    """The column set for bars with or without option-surface and context-symbol columns."""
    columns = CORE_COLUMNS
    if options:
        columns = columns + OPTION_COLUMNS
    if context:
        columns = columns + CONTEXT_COLUMNS
    return columns
