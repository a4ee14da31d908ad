//! The versioned bar columns (the twin of `src/ash/bars/columns.py`, BAR_COLUMNS_VERSION 1).

pub const BAR_COLUMNS_VERSION: i64 = 1;

pub const CORE_COLUMNS: [&str; 17] = [
    "open",
    "high",
    "low",
    "close",
    "vwap",
    "volume",
    "buy_volume",
    "sell_volume",
    "trade_count",
    "bid",
    "ask",
    "mid",
    "spread",
    "bid_size",
    "ask_size",
    "session_start",
    "time_of_day",
];

pub const N_CORE: usize = CORE_COLUMNS.len();
pub const N_OPTION: usize = 25;
/// Core columns followed by option-surface columns: the full row the builder computes.
pub const N_ALL: usize = N_CORE + N_OPTION;

pub const OPTION_COLUMNS: [&str; N_OPTION] = [
    "atm_iv_7d",
    "atm_iv_30d",
    "atm_iv_90d",
    "iv_k090_7d",
    "iv_k095_7d",
    "iv_k100_7d",
    "iv_k105_7d",
    "iv_k110_7d",
    "iv_k090_30d",
    "iv_k095_30d",
    "iv_k100_30d",
    "iv_k105_30d",
    "iv_k110_30d",
    "iv_k090_90d",
    "iv_k095_90d",
    "iv_k100_90d",
    "iv_k105_90d",
    "iv_k110_90d",
    "oi_delta",
    "oi_gamma",
    "oi_vega",
    "oi_theta",
    "pc_volume_ratio",
    "pc_oi_ratio",
    "term_slope",
];

/// Index of a column in the full row (core then option columns), if the runtime builds it.
pub fn column_index(name: &str) -> Option<usize> {
    CORE_COLUMNS
        .iter()
        .position(|c| *c == name)
        .or_else(|| OPTION_COLUMNS.iter().position(|c| *c == name).map(|i| N_CORE + i))
}

pub const OPEN: usize = 0;
pub const HIGH: usize = 1;
pub const LOW: usize = 2;
pub const CLOSE: usize = 3;
pub const VWAP: usize = 4;
pub const VOLUME: usize = 5;
pub const BUY_VOLUME: usize = 6;
pub const SELL_VOLUME: usize = 7;
pub const TRADE_COUNT: usize = 8;
pub const BID: usize = 9;
pub const ASK: usize = 10;
pub const MID: usize = 11;
pub const SPREAD: usize = 12;
pub const BID_SIZE: usize = 13;
pub const ASK_SIZE: usize = 14;
pub const SESSION_START: usize = 15;
pub const TIME_OF_DAY: usize = 16;

/// Context-symbol columns (`CONTEXT_COLUMNS` in columns.py): the named fields of the context
/// symbol's bar, filled from its own bar builder (see [`super::context`]).
pub const CONTEXT_PREFIX: &str = "ctx_";
pub const N_CONTEXT: usize = 5;
pub const CONTEXT_COLUMNS: [&str; N_CONTEXT] =
    ["ctx_close", "ctx_mid", "ctx_volume", "ctx_buy_volume", "ctx_sell_volume"];
/// The row index each context column is read from in the context symbol's own bar.
pub const CONTEXT_SOURCES: [usize; N_CONTEXT] = [CLOSE, MID, VOLUME, BUY_VOLUME, SELL_VOLUME];
/// Context columns that carry a price (taken from the bar at or before); the others (volumes)
/// are taken only from the bar at exactly the same time, else 0.
pub const N_CONTEXT_PRICES: usize = 2;

/// Index of a context column in [`CONTEXT_COLUMNS`].
pub fn context_index(name: &str) -> Option<usize> {
    CONTEXT_COLUMNS.iter().position(|c| *c == name)
}
