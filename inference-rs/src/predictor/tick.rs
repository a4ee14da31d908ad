//! One tick in, and why one is refused: the input side of `PricePredictor::update`.

use crate::bars::{Event, Reject};

/// One tick for one symbol.
#[derive(Debug, Clone, Copy)]
pub struct Tick<'a> {
    pub symbol: &'a str,
    pub event: Event<'a>,
}

/// Why `update` refused a tick (counted by the caller).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TickError {
    #[error("unknown symbol {0:?}")]
    UnknownSymbol(String),
    #[error("symbol {0:?} would exceed the limit of tracked symbols")]
    TooManySymbols(String),
    #[error("symbol name of {len} bytes is longer than the limit of {limit} bytes")]
    SymbolTooLong { len: usize, limit: usize },
    /// A value the model would see as float32 that is not a finite (positive, for prices)
    /// float32: the bar would carry inf or 0 into the model.
    #[error("{field} {value:e} is not a finite {} float32", if *.positive { "positive" } else { "non-negative" })]
    NotFloat32 { reason: &'static str, field: &'static str, value: f64, positive: bool },
    #[error("{}", .0.name())]
    Rejected(Reject),
}

impl TickError {
    pub fn reason(&self) -> &'static str {
        match self {
            TickError::UnknownSymbol(_) => "unknown_symbol",
            TickError::TooManySymbols(_) => "too_many_symbols",
            TickError::SymbolTooLong { .. } => "symbol_too_long",
            TickError::NotFloat32 { reason, .. } => reason,
            TickError::Rejected(r) => r.name(),
        }
    }
}

/// Reject values that are finite in f64 but overflow (or, for prices and trade sizes, vanish)
/// in the model's float32 input: `price 1e300` would otherwise build a bar whose VWAP is inf.
/// NaN and non-positive values are left to the bar builder, which rejects them with the same
/// reasons; NaN surface values mean "unchanged" and pass.
pub(super) fn check_float32(event: &Event<'_>) -> std::result::Result<(), TickError> {
    let positive = |reason, field, value: f64| {
        let v = value as f32;
        if value > 0.0 && !(v.is_finite() && v > 0.0) {
            return Err(TickError::NotFloat32 { reason, field, value, positive: true });
        }
        Ok(())
    };
    let finite = |reason, field, value: f64| {
        if value.is_finite() && !(value as f32).is_finite() {
            return Err(TickError::NotFloat32 { reason, field, value, positive: false });
        }
        Ok(())
    };
    match *event {
        Event::Trade { price, size, .. } => {
            positive("bad_price", "price", price)?;
            positive("bad_size", "size", size)
        }
        Event::Quote { bid, ask, bid_size, ask_size, .. } => {
            positive("bad_quote", "bid", bid)?;
            positive("bad_quote", "ask", ask)?;
            finite("bad_quote", "bid_size", bid_size)?;
            finite("bad_quote", "ask_size", ask_size)
        }
        Event::Surface { values, .. } => {
            for v in values.iter() {
                if v.is_infinite() || (v.is_finite() && !(*v as f32).is_finite()) {
                    return Err(TickError::NotFloat32 {
                        reason: "bad_surface",
                        field: "surface value",
                        value: *v,
                        positive: false,
                    });
                }
            }
            Ok(())
        }
    }
}

/// What a tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Updated {
    /// Bars finished by this tick (the previous open bar plus forward-filled empty bars).
    pub bars_closed: u32,
    /// The symbol has a full window (a prediction can be made).
    pub ready: bool,
}
