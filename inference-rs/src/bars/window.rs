//! The model-facing ring of the last `window` bars of one symbol, in the model's column order.
//! Preallocated once; pushing a bar and copying the window into the input tensor never allocate.

use super::builder::BarRow;
use super::columns::{column_index, context_index, BAR_COLUMNS_VERSION, N_ALL};
use super::context::ContextValues;
use super::spec::GapPolicy;

/// Which row entry feeds each model column (`ash.bar_columns` → builder row index), and which
/// model columns are context-symbol columns (filled from [`super::context::ContextFeed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    /// (model column, row index) of the columns the symbol's own builder computes.
    sources: Vec<(usize, usize)>,
    /// (model column, `CONTEXT_COLUMNS` index) of the `ctx_*` columns.
    context: Vec<(usize, usize)>,
    n_cols: usize,
}

impl ColumnMap {
    /// Map the model's columns; `Err` names every column this runtime cannot build.
    pub fn new(columns: &[String]) -> Result<Self, String> {
        let mut missing = Vec::new();
        let mut sources = Vec::with_capacity(columns.len());
        let mut context = Vec::new();
        for (dst, c) in columns.iter().enumerate() {
            match (column_index(c), context_index(c)) {
                (Some(i), _) => sources.push((dst, i)),
                (None, Some(k)) => context.push((dst, k)),
                (None, None) => missing.push(c.as_str()),
            }
        }
        if !missing.is_empty() {
            return Err(format!(
                "the model needs bar columns the runtime does not build: {} (this runtime builds the core, \
                 option-surface and ctx_* columns of bar-columns version {BAR_COLUMNS_VERSION}; see docs/bars.md)",
                missing.join(", ")
            ));
        }
        Ok(ColumnMap { sources, context, n_cols: columns.len() })
    }

    pub fn len(&self) -> usize {
        self.n_cols
    }

    pub fn is_empty(&self) -> bool {
        self.n_cols == 0
    }

    /// The model's columns of a full row, in the model's order; `ctx_*` columns from `context`
    /// (0 when `None`).
    pub fn select(&self, row: &[f64; N_ALL], context: Option<&ContextValues>) -> Vec<f64> {
        let mut out = vec![0.0; self.n_cols];
        for &(dst, src) in &self.sources {
            out[dst] = row[src];
        }
        if let Some(values) = context {
            for &(dst, k) in &self.context {
                out[dst] = values[k];
            }
        }
        out
    }

    /// True when the model reads any option-surface column.
    pub fn uses_options(&self) -> bool {
        self.sources.iter().any(|(_, i)| *i >= super::columns::N_CORE)
    }

    /// True when the model reads any `ctx_*` column (it needs a context symbol).
    pub fn uses_context(&self) -> bool {
        !self.context.is_empty()
    }

    /// (model column, `CONTEXT_COLUMNS` index) of every `ctx_*` column.
    pub fn context_slots(&self) -> &[(usize, usize)] {
        &self.context
    }
}

/// The last `window` bars of one symbol as f32, oldest first when read.
#[derive(Debug, Clone)]
pub struct WindowRing {
    window: usize,
    n_cols: usize,
    data: Vec<f32>,
    /// Start (UTC ns) of the bar in each slot (the context lookup needs it).
    starts: Vec<i64>,
    /// Slot the next bar goes to.
    head: usize,
    /// Bars held (≤ window).
    len: usize,
    policy: GapPolicy,
    /// Last bar's timestamp and reference prices (close, mid) in f64.
    last_ts: i64,
    last_close: f64,
    last_mid: f64,
    bars_seen: u64,
}

impl WindowRing {
    pub fn new(window: usize, n_cols: usize, policy: GapPolicy) -> Self {
        WindowRing {
            window,
            n_cols,
            data: vec![0.0; window * n_cols],
            starts: vec![i64::MIN; window],
            head: 0,
            len: 0,
            policy,
            last_ts: i64::MIN,
            last_close: f64::NAN,
            last_mid: f64::NAN,
            bars_seen: 0,
        }
    }

    /// Append a finished bar. Under the `reset` gap policy a segment start empties the ring, so
    /// a window never straddles a segment start.
    pub fn push(&mut self, bar: &BarRow<'_>, map: &ColumnMap) {
        if bar.segment_start && self.policy == GapPolicy::Reset {
            self.len = 0;
        }
        let slot = &mut self.data[self.head * self.n_cols..(self.head + 1) * self.n_cols];
        // ctx_* slots keep stale values: `ContextFeed::fill_window` writes them when read.
        for &(dst, src) in &map.sources {
            slot[dst] = bar.values[src] as f32;
        }
        self.starts[self.head] = bar.ts;
        self.head = (self.head + 1) % self.window;
        self.len = (self.len + 1).min(self.window);
        self.last_ts = bar.ts;
        self.last_close = bar.values[super::columns::CLOSE];
        self.last_mid = bar.values[super::columns::MID];
        self.bars_seen += 1;
    }

    pub fn is_ready(&self) -> bool {
        self.len == self.window
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn window(&self) -> usize {
        self.window
    }

    pub fn last_ts(&self) -> i64 {
        self.last_ts
    }

    /// Start (UTC ns) of bar `k` of the window, oldest first (`k < len`).
    pub fn ts_at(&self, k: usize) -> i64 {
        let oldest = (self.head + self.window - self.len) % self.window;
        self.starts[(oldest + k) % self.window]
    }

    pub fn bars_seen(&self) -> u64 {
        self.bars_seen
    }

    /// The reference price of the last bar (`ash.reference_price`: "mid" or "close").
    pub fn reference_price(&self, use_mid: bool) -> f64 {
        if use_mid {
            self.last_mid
        } else {
            self.last_close
        }
    }

    /// Copy the window, oldest bar first, into `out` (`window * n_cols` floats). Only valid when
    /// ready; returns false otherwise.
    pub fn copy_window(&self, out: &mut [f32]) -> bool {
        if !self.is_ready() || out.len() != self.data.len() {
            return false;
        }
        // When full, the oldest bar sits at `head`.
        let split = self.head * self.n_cols;
        let tail = self.data.len() - split;
        out[..tail].copy_from_slice(&self.data[split..]);
        out[tail..].copy_from_slice(&self.data[..split]);
        true
    }
}

const _: () = assert!(N_ALL == 42);

#[cfg(test)]
mod tests {
    use super::*;

    fn row(v: f64, seg: bool) -> [f64; N_ALL] {
        let mut r = [0.0; N_ALL];
        r[0] = v;
        r[super::super::columns::SESSION_START] = if seg { 1.0 } else { 0.0 };
        r
    }

    #[test]
    fn window_is_oldest_first_and_resets_on_segments() {
        let map = ColumnMap::new(&["open".to_string()]).unwrap();
        let mut ring = WindowRing::new(3, 1, GapPolicy::Reset);
        let mut out = [0f32; 3];
        for (i, seg) in [(1.0, true), (2.0, false), (3.0, false), (4.0, false)] {
            let r = row(i, seg);
            ring.push(&BarRow { ts: 0, values: &r, segment_start: seg }, &map);
        }
        assert!(ring.copy_window(&mut out));
        assert_eq!(out, [2.0, 3.0, 4.0]);
        let r = row(9.0, true);
        ring.push(&BarRow { ts: 0, values: &r, segment_start: true }, &map);
        assert!(!ring.is_ready());
        let mut mask = WindowRing::new(2, 1, GapPolicy::Mask);
        for (i, seg) in [(1.0, true), (2.0, true)] {
            let r = row(i, seg);
            mask.push(&BarRow { ts: 0, values: &r, segment_start: seg }, &map);
        }
        assert!(mask.is_ready());
    }

    #[test]
    fn unknown_columns_are_named() {
        let err = ColumnMap::new(&["open".into(), "ctx_close".into(), "foo".into(), "ctx_x".into()]).unwrap_err();
        assert!(err.contains(": foo, ctx_x ("), "{err}");
        let map = ColumnMap::new(&["ctx_mid".into(), "open".into(), "ctx_sell_volume".into()]).unwrap();
        assert!(map.uses_context() && !map.uses_options());
        assert_eq!(map.context_slots(), &[(0, 1), (2, 4)]);
        let mut row = [0.0; N_ALL];
        row[0] = 7.0;
        assert_eq!(map.select(&row, Some(&[1.0, 2.0, 3.0, 4.0, 5.0])), vec![2.0, 7.0, 5.0]);
    }
}
