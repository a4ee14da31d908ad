"""Canonical event schemas: what every :class:`ash.interfaces.Source` yields.

``trades`` and ``options`` are the ``stock_trades`` and ``options_data`` tables of the original
specification; ``quotes`` carries the top of book. Timestamps are tz-aware UTC, nanosecond
resolution. Prices are in the instrument's currency, sizes in shares/contracts.
"""

from __future__ import annotations

from typing import Final

# column -> pandas dtype
TRADES: Final[dict[str, str]] = {
    "ts": "datetime64[ns, UTC]",
    "symbol": "string",
    "price": "float64",
    "size": "float64",
    "side": "int8",  # +1 buyer-initiated, -1 seller-initiated, 0 unknown (inferred later)
}

QUOTES: Final[dict[str, str]] = {
    "ts": "datetime64[ns, UTC]",
    "symbol": "string",
    "bid": "float64",
    "ask": "float64",
    "bid_size": "float64",
    "ask_size": "float64",
}

OPTIONS: Final[dict[str, str]] = {
    "ts": "datetime64[ns, UTC]",
    "underlying": "string",
    "expiry": "datetime64[ns, UTC]",
    "strike": "float64",
    "right": "string",  # "C" or "P"
    "bid": "float64",
    "ask": "float64",
    "iv": "float64",
    "delta": "float64",
    "gamma": "float64",
    "vega": "float64",
    "theta": "float64",
    "volume": "float64",
    "open_interest": "float64",
}

SCHEMAS: Final[dict[str, dict[str, str]]] = {"trades": TRADES, "quotes": QUOTES, "options": OPTIONS}
