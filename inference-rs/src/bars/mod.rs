//! Bars from ticks: the streaming twin of the Python bar builder (docs/bars.md), plus the
//! per-symbol window ring the model reads.

pub mod builder;
pub mod columns;
pub mod context;
pub mod spec;
pub mod window;

pub use builder::{BarBuilder, BarRow, BuildStats, Event, Reject};
pub use context::{ContextFeed, ContextValues};
pub use spec::{BarSpec, GapPolicy};
pub use window::{ColumnMap, WindowRing};
