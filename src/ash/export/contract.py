"""Constants of the ONNX contract v1 (specified in docs/contract.md; this module follows it)."""

from __future__ import annotations

from typing import Final, Literal

# Outer bucket edges, in bps of log return (±100 % log return, meaning "open-ended"). The
# discretizers produce them, so the constant lives with them and the contract re-exports it.
from ash.components.discretizers.base import OUTER_EDGE_BPS

CONTRACT_VERSION: Final[int] = 1
SUPPORTED_CONTRACT_VERSIONS: Final[frozenset[int]] = frozenset({1})

INPUT_NAME: Final[str] = "bars"
PROBS_NAME: Final[str] = "probs"
EDGES_NAME: Final[str] = "edges"
OUTPUT_NAMES: Final[tuple[str, str]] = (PROBS_NAME, EDGES_NAME)
BATCH_DIM_NAME: Final[str] = "batch"

EXPORT_OPSET: Final[int] = 17
# Default-domain opsets a consumer must accept (the Rust runtime checks the same range).
MIN_OPSET: Final[int] = 17
MAX_OPSET: Final[int] = 23

PROBS_SUM_TOLERANCE: Final[float] = 1e-4
PARITY_TOLERANCE: Final[float] = 1e-5
FP16_PARITY_TOLERANCE: Final[float] = 2e-3

HORIZON_UNIT: Final[str] = "s"
REFERENCE_PRICES: Final[tuple[str, ...]] = ("mid", "close")

KEY_PREFIX: Final[str] = "ash."
KEY_CONTRACT: Final[str] = "ash.contract"
KEY_BAR_COLUMNS: Final[str] = "ash.bar_columns"
KEY_BAR_COLUMNS_VERSION: Final[str] = "ash.bar_columns_version"
KEY_BAR_SECONDS: Final[str] = "ash.bar_seconds"
KEY_WINDOW: Final[str] = "ash.window"
KEY_HORIZONS: Final[str] = "ash.horizons"
KEY_HORIZON_UNIT: Final[str] = "ash.horizon_unit"
KEY_N_BUCKETS: Final[str] = "ash.n_buckets"
KEY_REFERENCE_PRICE: Final[str] = "ash.reference_price"
KEY_TIMEZONE: Final[str] = "ash.timezone"
KEY_GAP_SECONDS: Final[str] = "ash.gap_seconds"
KEY_GAP_POLICY: Final[str] = "ash.gap_policy"
KEY_PLUGINS: Final[str] = "ash.plugins"
KEY_EXPERIMENT: Final[str] = "ash.experiment"
KEY_DATA_FINGERPRINT: Final[str] = "ash.data_fingerprint"
KEY_METRICS: Final[str] = "ash.metrics"
KEY_CREATED_BY: Final[str] = "ash.created_by"
# The symbol whose bars fill the ctx_* columns (data.context_symbol); optional, since contract
# v1 models without ctx_* columns have none. Serving a ctx_* model needs it (docs/runtime.md).
KEY_CONTEXT_SYMBOL: Final[str] = "ash.context_symbol"

# What each key's JSON value must be. "int" excludes floats with a fraction and booleans;
# "number" accepts ints and floats but not booleans.
ValueKind = Literal[
    "contract",
    "columns",
    "positive_int",
    "buckets",
    "positive_number",
    "horizons",
    "horizon_unit",
    "reference_price",
    "nonempty_str",
    "str",
    "plugins",
    "object",
]

REQUIRED_KEYS: Final[dict[str, ValueKind]] = {
    KEY_CONTRACT: "contract",
    KEY_BAR_COLUMNS: "columns",
    KEY_BAR_COLUMNS_VERSION: "positive_int",
    KEY_BAR_SECONDS: "positive_number",
    KEY_WINDOW: "positive_int",
    KEY_HORIZONS: "horizons",
    KEY_HORIZON_UNIT: "horizon_unit",
    KEY_N_BUCKETS: "buckets",
    KEY_REFERENCE_PRICE: "reference_price",
    KEY_TIMEZONE: "nonempty_str",
    KEY_GAP_SECONDS: "positive_number",
    KEY_GAP_POLICY: "nonempty_str",
}

OPTIONAL_KEYS: Final[dict[str, ValueKind]] = {
    KEY_PLUGINS: "plugins",
    KEY_EXPERIMENT: "str",
    KEY_DATA_FINGERPRINT: "str",
    KEY_METRICS: "object",
    KEY_CREATED_BY: "str",
    KEY_CONTEXT_SYMBOL: "nonempty_str",
}

PLUGIN_ENTRY_FIELDS: Final[tuple[str, ...]] = ("kind", "name", "distribution", "version")

__all__ = [
    "BATCH_DIM_NAME",
    "CONTRACT_VERSION",
    "EDGES_NAME",
    "EXPORT_OPSET",
    "FP16_PARITY_TOLERANCE",
    "HORIZON_UNIT",
    "INPUT_NAME",
    "MAX_OPSET",
    "MIN_OPSET",
    "OPTIONAL_KEYS",
    "OUTER_EDGE_BPS",
    "OUTPUT_NAMES",
    "PARITY_TOLERANCE",
    "PLUGIN_ENTRY_FIELDS",
    "PROBS_NAME",
    "PROBS_SUM_TOLERANCE",
    "REFERENCE_PRICES",
    "REQUIRED_KEYS",
    "SUPPORTED_CONTRACT_VERSIONS",
]
