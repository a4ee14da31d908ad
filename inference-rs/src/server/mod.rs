//! `ash-serve`: JSON lines in (TCP or stdin), predictions out, counters and latency logs on
//! stderr. The [`Engine`] owns the predictor and turns lines into replies; the transport feeds
//! it from stdin or from TCP clients, fairly and within the byte and work bounds of [`Limits`].
//! Bad input is counted and answered, never fatal.

mod engine;
mod inbox;
mod latency;
mod limits;
mod transport;

pub use engine::{Counters, EmitMode, Engine, ServeOptions};
pub use latency::LatencyStats;
pub use limits::Limits;
pub use transport::{serve, Source, TransportCounters};
