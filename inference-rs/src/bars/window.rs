//! The model-facing ring of the last `window` bars of one symbol, in the model's column order.
//! Preallocated once; pushing a bar and copying the window into the input tensor never allocate.

use super::builder::BarRow;
use super::columns::{column_index, N_ALL};
use super::spec::GapPolicy;

/// Which row entry feeds each model column (`ash.bar_columns` → builder row index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    sources: Vec<usize>,
}

impl ColumnMap {
    /// Map the model's columns; `Err` names every column this runtime cannot build.
    pub fn new(columns: &[String]) -> Result<Self, String> {
        let mut missing = Vec::new();
        let mut sources = Vec::with_capacity(columns.len());
        for c in columns {
            match column_index(c) {
                Some(i) => sources.push(i),
                None => missing.push(c.as_str()),
            }
        }
        if !missing.is_empty() {
            return Err(format!(
                "the model needs bar columns the runtime does not build: {} (context-symbol ctx_* columns \
                 and unknown columns are not supported; see docs/runtime.md)",
                missing.join(", ")
            ));
        }
        Ok(ColumnMap { sources })
    }

    pub fn len(&self) -> usize {
        self.sources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The model's columns of a full row, in the model's order.
    pub fn select(&self, row: &[f64; N_ALL]) -> Vec<f64> {
        self.sources.iter().map(|i| row[*i]).collect()
    }

    /// True when the model reads any option-surface column.
    pub fn uses_options(&self) -> bool {
        self.sources.iter().any(|i| *i >= super::columns::N_CORE)
    }
}

/// The last `window` bars of one symbol as f32, oldest first when read.
#[derive(Debug, Clone)]
pub struct WindowRing {
    window: usize,
    n_cols: usize,
    data: Vec<f32>,
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
        for (dst, src) in slot.iter_mut().zip(&map.sources) {
            *dst = bar.values[*src] as f32;
        }
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
        let err = ColumnMap::new(&["open".into(), "ctx_close".into(), "foo".into()]).unwrap_err();
        assert!(err.contains("ctx_close, foo"));
    }
}
