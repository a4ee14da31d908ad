//! The context symbol (`ash.context_symbol`): its own bars, built by the same [`BarBuilder`]
//! from its ticks, fill every served symbol's `ctx_*` columns exactly as the Python builder's
//! `_context_columns` does (docs/runtime.md, "Context symbols"):
//!
//! - `ctx_close`, `ctx_mid`: the context bar at or before the served bar's start; before the
//!   context's first bar, its first bar;
//! - `ctx_volume`, `ctx_buy_volume`, `ctx_sell_volume`: the context bar at exactly that start,
//!   else 0.
//!
//! Python fills them from the context's *final* bars. A served bar at `t` therefore waits until
//! the context's clock has passed `t` (a context tick in a later bar, a `clock` line, or the end
//! of input): until then its symbol is not ready ([`ContextFeed::covers`]) and the predictor
//! remembers it ([`ContextFeed::wait`]) to release it once covered ([`ContextFeed::release`]).
//! The forward-filled empty bars a later context tick may still emit for times before its clock
//! repeat the previous bar's close and mid with zero volumes, which is exactly what the lookup
//! returns for a start without an exact bar, so coverage never depends on them.

use std::collections::VecDeque;

use super::builder::{BarBuilder, BarRow, BuildStats, Event, Reject};
use super::columns::{CONTEXT_SOURCES, N_CONTEXT, N_CONTEXT_PRICES};
use super::spec::BarSpec;
use super::window::{ColumnMap, WindowRing};

/// One context bar's fields, in `CONTEXT_COLUMNS` order.
pub type ContextValues = [f64; N_CONTEXT];

const SECONDS_PER_DAY: f64 = 86_400.0;
/// Upper bound of the retained history (bars; 12 MiB), whatever the bar length: three days of
/// 1 s bars, seven hours of 100 ms bars.
const MAX_HISTORY: usize = 1 << 18;

/// The context symbol's bar builder and the history of its finished bars.
#[derive(Debug, Clone)]
pub struct ContextFeed {
    symbol: String,
    builder: BarBuilder,
    /// Finished context bars (start, fields), oldest first.
    history: VecDeque<(i64, ContextValues)>,
    capacity: usize,
    /// The history dropped its oldest bars (a lookup before them is a miss).
    evicted: bool,
    /// Lookups for a start older than the retained history.
    misses: u64,
    /// The end of input was reached: every bar is final.
    finished: bool,
    /// Served symbols (predictor indices) whose newest bar the context does not cover yet.
    waiting: Vec<usize>,
    is_waiting: Vec<bool>,
}

impl ContextFeed {
    /// A feed for `symbol` on the model's bar spec. The history keeps one day of bars (at
    /// most `MAX_HISTORY`, at least four windows), so lookups for any window of a symbol
    /// finished within a day of the context's clock are exact. Allocated once, here: ingesting
    /// context ticks allocates nothing.
    pub fn new(symbol: &str, spec: BarSpec, window: usize) -> Self {
        let day = (SECONDS_PER_DAY * 1e9 / spec.bar_ns as f64).ceil() as usize;
        let capacity = day.min(MAX_HISTORY).max(window.saturating_mul(4)).max(1);
        ContextFeed {
            symbol: symbol.to_string(),
            builder: BarBuilder::new(spec),
            history: VecDeque::with_capacity(capacity),
            capacity,
            evicted: false,
            misses: 0,
            finished: false,
            waiting: Vec::new(),
            is_waiting: Vec::new(),
        }
    }

    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    pub fn stats(&self) -> &BuildStats {
        self.builder.stats()
    }

    /// Context bars retained.
    pub fn bars(&self) -> usize {
        self.history.len()
    }

    /// Lookups that asked for a start older than the retained history (answered with the
    /// oldest retained bar's prices and zero volumes).
    pub fn misses(&self) -> u64 {
        self.misses
    }

    /// Served symbols waiting for the context to reach their newest bar.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Start (UTC ns) of the context's latest bar reached (`i64::MIN` before any tick).
    pub fn clock_bar(&self) -> i64 {
        self.builder.clock_bar()
    }

    fn record(history: &mut VecDeque<(i64, ContextValues)>, capacity: usize, evicted: &mut bool, row: &BarRow<'_>) {
        if history.len() == capacity {
            history.pop_front();
            *evicted = true;
        }
        history.push_back((row.ts, CONTEXT_SOURCES.map(|i| row.values[i])));
    }

    /// Ingest one context tick (the bar builder's rules: late and bad ticks are rejected).
    pub fn push(&mut self, event: &Event<'_>) -> Result<(), Reject> {
        let (history, capacity, evicted) = (&mut self.history, self.capacity, &mut self.evicted);
        self.builder.push(event, &mut |row: BarRow<'_>| Self::record(history, capacity, evicted, &row))
    }

    /// The clock reached `ts` (a `clock` line): the context's open bar before it is final.
    pub fn advance(&mut self, ts: i64) {
        let (history, capacity, evicted) = (&mut self.history, self.capacity, &mut self.evicted);
        self.builder.advance(ts, &mut |row: BarRow<'_>| Self::record(history, capacity, evicted, &row));
    }

    /// End of input: the open bar is final, and so is everything else.
    pub fn finish(&mut self) {
        let (history, capacity, evicted) = (&mut self.history, self.capacity, &mut self.evicted);
        self.builder.finish(&mut |row: BarRow<'_>| Self::record(history, capacity, evicted, &row));
        self.finished = true;
    }

    /// True when the context fields of a served bar starting at `ts` are final: the context
    /// has a finished bar and its clock is past `ts`, or the input ended.
    pub fn covers(&self, ts: i64) -> bool {
        self.finished || (!self.history.is_empty() && self.builder.clock_bar() > ts)
    }

    /// Remember that served symbol `index` has a bar the context does not cover yet.
    pub fn wait(&mut self, index: usize) {
        if self.is_waiting.len() <= index {
            self.is_waiting.resize(index + 1, false);
        }
        if !self.is_waiting[index] {
            self.is_waiting[index] = true;
            self.waiting.push(index);
        }
    }

    /// Hand every waiting symbol whose newest bar (`last_ts(index)`) is now covered to `on`.
    pub fn release(&mut self, last_ts: impl Fn(usize) -> i64, mut on: impl FnMut(usize)) {
        if self.waiting.is_empty() {
            return;
        }
        let (finished, clock, any) = (self.finished, self.builder.clock_bar(), !self.history.is_empty());
        let is_waiting = &mut self.is_waiting;
        self.waiting.retain(|&i| {
            let covered = finished || (any && clock > last_ts(i));
            if covered {
                is_waiting[i] = false;
                on(i);
            }
            !covered
        });
    }

    /// Index of the last retained bar starting at or before `ts`, from a hint at or below it.
    fn at_or_before(&self, ts: i64, mut from: usize) -> Option<usize> {
        while from < self.history.len() && self.history[from].0 <= ts {
            from += 1;
        }
        from.checked_sub(1)
    }

    fn values_at(&mut self, ts: i64, found: Option<usize>) -> ContextValues {
        let mut out = [0.0; N_CONTEXT];
        let (bar_ts, values) = match found {
            Some(j) => self.history[j],
            None => match self.history.front() {
                None => return out, // no context bar at all: zeros, as Python's empty context
                Some(first) => {
                    // Before the first bar: the first bar's prices (Python's fallback) — unless
                    // that bar was dropped from the history, then the oldest retained one.
                    if self.evicted {
                        self.misses += 1;
                    }
                    *first
                }
            },
        };
        out[..N_CONTEXT_PRICES].copy_from_slice(&values[..N_CONTEXT_PRICES]);
        if bar_ts == ts {
            out[N_CONTEXT_PRICES..].copy_from_slice(&values[N_CONTEXT_PRICES..]);
        }
        out
    }

    /// The context fields of a served bar starting at `ts`.
    pub fn lookup(&mut self, ts: i64) -> ContextValues {
        let start = self.history.partition_point(|(t, _)| *t <= ts);
        let found = start.checked_sub(1);
        self.values_at(ts, found)
    }

    /// Write the `ctx_*` columns of `ring`'s window (already copied into `out`, oldest bar
    /// first) from the context's bars. One binary search, then a merge walk: O(window).
    pub fn fill_window(&mut self, ring: &WindowRing, map: &ColumnMap, out: &mut [f32]) {
        let (window, n_cols) = (ring.window(), map.len());
        if !map.uses_context() || out.len() != window * n_cols {
            return;
        }
        let mut hint = self.history.partition_point(|(t, _)| *t < ring.ts_at(0));
        for b in 0..window {
            let ts = ring.ts_at(b);
            let found = self.at_or_before(ts, hint);
            hint = found.unwrap_or(0);
            let values = self.values_at(ts, found);
            for &(dst, field) in map.context_slots() {
                out[b * n_cols + dst] = values[field] as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::columns::{CLOSE, MID, N_ALL, SESSION_START, VOLUME};
    use super::super::spec::GapPolicy;
    use super::*;

    const T0: i64 = 1_381_152_600_000_000_000; // 2013-10-07 09:30:00 New York
    const S: i64 = 1_000_000_000;

    fn feed() -> ContextFeed {
        ContextFeed::new("SPY", BarSpec::new(1.0, "America/New_York", 300.0, None, "reset").unwrap(), 4)
    }

    fn trade(ts: i64, price: f64, size: f64) -> Event<'static> {
        Event::Trade { ts: Some(ts), price, size, side: 1.0 }
    }

    #[test]
    fn lookup_follows_python_at_or_before_exact_volume_and_first_bar_fallback() {
        let mut ctx = feed();
        ctx.push(&trade(T0 + 2 * S + 1, 10.0, 5.0)).unwrap();
        ctx.push(&trade(T0 + 4 * S + 1, 11.0, 7.0)).unwrap();
        ctx.push(&trade(T0 + 6 * S + 1, 12.0, 9.0)).unwrap();
        // Finished: bar 2 (10.0, vol 5), 3 (filled: 10.0, vol 0), 4 (11.0, vol 7), 5 (filled).
        assert_eq!(ctx.bars(), 4);
        assert!(ctx.covers(T0 + 5 * S) && !ctx.covers(T0 + 6 * S));
        assert_eq!(ctx.lookup(T0), [10.0, 10.0, 0.0, 0.0, 0.0], "before the first bar: its prices");
        assert_eq!(ctx.lookup(T0 + 2 * S), [10.0, 10.0, 5.0, 5.0, 0.0]);
        assert_eq!(ctx.lookup(T0 + 3 * S), [10.0, 10.0, 0.0, 0.0, 0.0]);
        assert_eq!(ctx.lookup(T0 + 5 * S), [11.0, 11.0, 0.0, 0.0, 0.0], "a filled bar: volumes 0");
        ctx.finish();
        assert!(ctx.covers(i64::MAX));
        assert_eq!(ctx.lookup(T0 + 6 * S), [12.0, 12.0, 9.0, 9.0, 0.0]);
        assert_eq!(ctx.misses(), 0);
    }

    #[test]
    fn an_empty_context_covers_nothing_until_the_end_then_reads_zeros() {
        let mut ctx = feed();
        assert!(!ctx.covers(T0));
        ctx.push(&trade(T0 + S, 10.0, 1.0)).unwrap();
        assert!(!ctx.covers(T0), "the first bar is still open: the fallback is not final yet");
        let mut empty = feed();
        empty.finish();
        assert!(empty.covers(T0));
        assert_eq!(empty.lookup(T0), [0.0; N_CONTEXT]);
    }

    #[test]
    fn late_context_ticks_are_rejected_and_change_nothing() {
        let mut ctx = feed();
        ctx.push(&trade(T0 + 3 * S, 10.0, 5.0)).unwrap();
        ctx.push(&trade(T0 + 4 * S, 11.0, 5.0)).unwrap();
        assert_eq!(ctx.push(&trade(T0 + 2 * S, 99.0, 5.0)), Err(Reject::Late));
        assert_eq!(ctx.stats().rejected(Reject::Late), 1);
        assert_eq!(ctx.lookup(T0 + 3 * S), [10.0, 10.0, 5.0, 5.0, 0.0]);
    }

    #[test]
    fn waiting_symbols_are_released_once_covered() {
        let mut ctx = feed();
        ctx.push(&trade(T0, 10.0, 1.0)).unwrap();
        ctx.wait(2);
        ctx.wait(2);
        ctx.wait(0);
        assert_eq!(ctx.waiting(), 2);
        let last = |i: usize| if i == 2 { T0 + 3 * S } else { T0 + S };
        let mut got = Vec::new();
        ctx.push(&trade(T0 + 2 * S, 10.0, 1.0)).unwrap();
        ctx.release(last, |i| got.push(i));
        assert_eq!(got, vec![0]);
        ctx.advance(T0 + 10 * S);
        ctx.release(last, |i| got.push(i));
        assert_eq!(got, vec![0, 2]);
        assert_eq!(ctx.waiting(), 0);
    }

    #[test]
    fn fill_window_writes_ctx_columns_of_every_bar() {
        let mut ctx = feed();
        for k in 0..6 {
            ctx.push(&trade(T0 + k * S + 1, 10.0 + k as f64, 1.0 + k as f64)).unwrap();
        }
        let cols: Vec<String> = ["close", "ctx_close", "ctx_volume"].map(String::from).to_vec();
        let map = ColumnMap::new(&cols).unwrap();
        let mut ring = WindowRing::new(3, 3, GapPolicy::Reset);
        for k in 1..5 {
            let mut r = [0.0; N_ALL];
            r[CLOSE] = 1.0;
            r[MID] = 1.0;
            r[VOLUME] = 1.0;
            r[SESSION_START] = if k == 1 { 1.0 } else { 0.0 };
            ring.push(&BarRow { ts: T0 + k * S, values: &r, segment_start: k == 1 }, &map);
        }
        let mut out = [0f32; 9];
        assert!(ring.copy_window(&mut out));
        ctx.fill_window(&ring, &map, &mut out);
        assert_eq!(out, [1.0, 12.0, 3.0, 1.0, 13.0, 4.0, 1.0, 14.0, 5.0]);
    }
}
