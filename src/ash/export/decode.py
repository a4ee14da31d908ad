"""Reference decoding of contract outputs (docs/contract.md §4): mean, quantiles, P(up/flat/down).

The implementation is :mod:`ash.decoding` (numpy only, so torch-free consumers share it); this
module is where the export API documents it. Every consumer (the Rust runtime included) must
reproduce these numbers; the fixtures carry them.
"""

from ash.decoding import (
    DEFAULT_QUANTILES,
    Decoded,
    Summary,
    decode,
    direction_probs,
    effective_edges,
    quantile,
    summarize,
)

__all__ = [
    "DEFAULT_QUANTILES",
    "Decoded",
    "Summary",
    "decode",
    "direction_probs",
    "effective_edges",
    "quantile",
    "summarize",
]
