//! The streaming bar builder: one symbol's events, in arrival order, become bars on the regular
//! grid exactly as `ash.bars.builder.build_bars_from_stream` builds them (docs/bars.md).
//!
//! A bar is emitted when it is final: when an accepted event lands in a later bar (the empty
//! bars in between are emitted too, forward-filled), when a new segment starts, or on
//! [`BarBuilder::advance`] / [`BarBuilder::finish`]. Every method is O(1) per event (plus one
//! row per emitted bar) and allocates nothing once the surface queue has warmed up.

use std::collections::VecDeque;

use super::columns::*;
use super::spec::{local_day, BarSpec, LocalDay};

/// Larger prints cannot be physical and no longer sum exactly in f64 (`MAX_TRADE_SIZE`).
pub const MAX_TRADE_SIZE: f64 = 1e15;

/// Why an event was rejected, in the order the checks run (`REJECT_REASONS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    BadTimestamp,
    BadPrice,
    BadSize,
    BadSide,
    BadQuote,
    CrossedQuote,
    OutsideSession,
    Late,
}

impl Reject {
    pub const ALL: [Reject; 8] = [
        Reject::BadTimestamp,
        Reject::BadPrice,
        Reject::BadSize,
        Reject::BadSide,
        Reject::BadQuote,
        Reject::CrossedQuote,
        Reject::OutsideSession,
        Reject::Late,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Reject::BadTimestamp => "bad_timestamp",
            Reject::BadPrice => "bad_price",
            Reject::BadSize => "bad_size",
            Reject::BadSide => "bad_side",
            Reject::BadQuote => "bad_quote",
            Reject::CrossedQuote => "crossed_quote",
            Reject::OutsideSession => "outside_session",
            Reject::Late => "late",
        }
    }
}

/// One market or surface event. `ts` is UTC nanoseconds, `None` when missing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event<'a> {
    Trade {
        ts: Option<i64>,
        price: f64,
        size: f64,
        side: f64,
    },
    Quote {
        ts: Option<i64>,
        bid: f64,
        ask: f64,
        bid_size: f64,
        ask_size: f64,
    },
    /// Option-surface update: one value per OPTION_COLUMNS entry, NaN = unchanged.
    Surface {
        ts: Option<i64>,
        values: &'a [f64; N_OPTION],
    },
}

/// Counts of what the builder accepted and rejected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildStats {
    pub events: u64,
    pub accepted_trades: u64,
    pub accepted_quotes: u64,
    pub accepted_surface: u64,
    pub rejected: [u64; 8],
}

impl BuildStats {
    pub fn rejected(&self, reason: Reject) -> u64 {
        self.rejected[reason as usize]
    }
}

/// A finished bar handed to the sink: its start (UTC ns) and the full row (core + option columns).
#[derive(Debug, Clone, Copy)]
pub struct BarRow<'a> {
    pub ts: i64,
    pub values: &'a [f64; N_ALL],
    /// First bar of a segment (also `values[SESSION_START] == 1.0`).
    pub segment_start: bool,
}

#[derive(Debug, Clone, Copy)]
struct Quote {
    bid: f64,
    ask: f64,
    bid_size: f64,
    ask_size: f64,
}

/// The open (not yet final) bar.
#[derive(Debug, Clone, Copy)]
struct OpenBar {
    start: i64,
    day_start: i64,
    segment_start: bool,
    count: f64,
    volume: f64,
    notional: f64,
    buy: f64,
    sell: f64,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
}

impl OpenBar {
    fn new(start: i64, day_start: i64, segment_start: bool) -> Self {
        OpenBar {
            start,
            day_start,
            segment_start,
            count: 0.0,
            volume: 0.0,
            notional: 0.0,
            buy: 0.0,
            sell: 0.0,
            open: 0.0,
            high: 0.0,
            low: 0.0,
            close: 0.0,
        }
    }
}

/// Per-segment state: side inference and forward-fill restart at every segment start.
#[derive(Debug, Clone, Copy, Default)]
struct Segment {
    quote: Option<Quote>,
    last_close: Option<f64>,
    last_price: Option<f64>,
    last_tick: f64,
}

/// Streaming bars of one symbol.
#[derive(Debug, Clone)]
pub struct BarBuilder {
    spec: BarSpec,
    day: Option<LocalDay>,
    /// Latest bar of any accepted event (market or surface): earlier bars are late.
    latest_bar: i64,
    /// Newest timestamp and local day of the accepted market events (segment rule).
    newest_ts: i64,
    last_day_start: i64,
    any_market: bool,
    open: Option<OpenBar>,
    /// The open bar was emitted by `advance` and must not be emitted again.
    open_emitted: bool,
    seg: Segment,
    surface: [f64; N_OPTION],
    pending_surface: VecDeque<(i64, [f64; N_OPTION])>,
    row: [f64; N_ALL],
    stats: BuildStats,
}

impl BarBuilder {
    pub fn new(spec: BarSpec) -> Self {
        BarBuilder {
            spec,
            day: None,
            latest_bar: i64::MIN,
            newest_ts: i64::MIN,
            last_day_start: i64::MIN,
            any_market: false,
            open: None,
            open_emitted: false,
            seg: Segment::default(),
            surface: [0.0; N_OPTION],
            pending_surface: VecDeque::with_capacity(64),
            row: [0.0; N_ALL],
            stats: BuildStats::default(),
        }
    }

    pub fn spec(&self) -> &BarSpec {
        &self.spec
    }

    pub fn stats(&self) -> &BuildStats {
        &self.stats
    }

    /// Start (UTC ns) of the latest bar any accepted event or `advance` reached (`i64::MIN`
    /// before the first). Every bar that starts earlier is final: a later event for it is late.
    pub fn clock_bar(&self) -> i64 {
        self.latest_bar
    }

    /// The local day of `ts`, from the one-day cache (recomputed only when the day changes).
    fn day_of(&mut self, ts: i64) -> Option<LocalDay> {
        match self.day {
            Some(d) if d.contains(ts) => Some(d),
            _ => {
                self.day = local_day(&self.spec, ts);
                self.day
            }
        }
    }

    fn reject(&mut self, reason: Reject) -> Result<(), Reject> {
        self.stats.rejected[reason as usize] += 1;
        Err(reason)
    }

    /// Ingest one event; finished bars go to `sink`. `Err` says why the event was rejected
    /// (it is counted; the builder's state is unchanged).
    pub fn push<F: FnMut(BarRow<'_>)>(&mut self, event: &Event<'_>, sink: &mut F) -> Result<(), Reject> {
        self.stats.events += 1;
        let ts = match *event {
            Event::Trade { ts, price, size, side } => {
                let Some(ts) = ts else { return self.reject(Reject::BadTimestamp) };
                if !(price > 0.0 && price < f64::INFINITY) {
                    return self.reject(Reject::BadPrice);
                }
                if !(size > 0.0 && size <= MAX_TRADE_SIZE) {
                    return self.reject(Reject::BadSize);
                }
                if !(side == 0.0 || side == 1.0 || side == -1.0) {
                    return self.reject(Reject::BadSide);
                }
                ts
            }
            Event::Quote { ts, bid, ask, bid_size, ask_size } => {
                let Some(ts) = ts else { return self.reject(Reject::BadTimestamp) };
                let finite_pos = |x: f64| x > 0.0 && x < f64::INFINITY;
                let finite_nonneg = |x: f64| (0.0..f64::INFINITY).contains(&x);
                if !(finite_pos(bid) && finite_pos(ask) && finite_nonneg(bid_size) && finite_nonneg(ask_size)) {
                    return self.reject(Reject::BadQuote);
                }
                if ask < bid {
                    return self.reject(Reject::CrossedQuote);
                }
                ts
            }
            Event::Surface { ts, .. } => {
                let Some(ts) = ts else { return self.reject(Reject::BadTimestamp) };
                ts
            }
        };
        let Some(day) = self.day_of(ts) else { return self.reject(Reject::BadTimestamp) };
        if ts < day.open || ts >= day.close {
            return self.reject(Reject::OutsideSession);
        }
        let bar = day.bar_start(ts, self.spec.bar_ns);
        if bar < self.latest_bar {
            return self.reject(Reject::Late);
        }
        self.latest_bar = bar;
        match *event {
            Event::Surface { values, .. } => {
                self.stats.accepted_surface += 1;
                self.pending_surface.push_back((bar, *values));
            }
            Event::Trade { price, size, side, .. } => {
                self.stats.accepted_trades += 1;
                self.enter_bar(ts, bar, &day, sink);
                self.add_trade(price, size, side);
                self.note_market(ts, &day);
            }
            Event::Quote { bid, ask, bid_size, ask_size, .. } => {
                self.stats.accepted_quotes += 1;
                self.enter_bar(ts, bar, &day, sink);
                self.seg.quote = Some(Quote { bid, ask, bid_size, ask_size });
                self.note_market(ts, &day);
            }
        }
        Ok(())
    }

    fn note_market(&mut self, ts: i64, day: &LocalDay) {
        self.newest_ts = self.newest_ts.max(ts);
        self.last_day_start = day.start;
        self.any_market = true;
    }

    /// Make `bar` the open bar for a market event at `ts`: close the current one, forward-fill
    /// the empty bars in between, or start a new segment.
    fn enter_bar<F: FnMut(BarRow<'_>)>(&mut self, ts: i64, bar: i64, day: &LocalDay, sink: &mut F) {
        let new_segment = !self.any_market
            || day.start != self.last_day_start
            || ts.saturating_sub(self.newest_ts) > self.spec.gap_ns;
        if new_segment {
            self.close_open(sink);
            self.seg = Segment::default();
            self.open = Some(OpenBar::new(bar, day.start, true));
            self.open_emitted = false;
            return;
        }
        let Some(open) = self.open else { return };
        if bar == open.start {
            return;
        }
        self.close_open(sink);
        let mut fill = open.start + self.spec.bar_ns;
        while fill < bar {
            let empty = OpenBar::new(fill, open.day_start, false);
            self.emit(&empty, sink);
            fill += self.spec.bar_ns;
        }
        self.open = Some(OpenBar::new(bar, day.start, false));
        self.open_emitted = false;
    }

    fn add_trade(&mut self, price: f64, size: f64, true_side: f64) {
        let seg = &mut self.seg;
        // Tick rule state advances on every trade; it restarts at the segment's first trade.
        let tick = match seg.last_price {
            None => 0.0,
            Some(prev) => sign(price - prev),
        };
        if seg.last_price.is_none() || tick != 0.0 {
            seg.last_tick = tick;
        }
        seg.last_price = Some(price);
        let side = if true_side != 0.0 {
            true_side
        } else {
            let by_quote = seg.quote.map_or(0.0, |q| sign(price - (q.bid + q.ask) / 2.0));
            if by_quote != 0.0 {
                by_quote
            } else {
                seg.last_tick
            }
        };
        let (buy, sell) = if side > 0.0 {
            (size, 0.0)
        } else if side < 0.0 {
            (0.0, size)
        } else {
            (size * 0.5, size * 0.5)
        };
        let Some(bar) = self.open.as_mut() else { return };
        if bar.count == 0.0 {
            bar.open = price;
            bar.high = price;
            bar.low = price;
        } else {
            bar.high = bar.high.max(price);
            bar.low = bar.low.min(price);
        }
        bar.close = price;
        bar.count += 1.0;
        bar.volume += size;
        bar.notional += price * size;
        bar.buy += buy;
        bar.sell += sell;
    }

    fn close_open<F: FnMut(BarRow<'_>)>(&mut self, sink: &mut F) {
        if let Some(open) = self.open.take() {
            if !self.open_emitted {
                self.emit(&open, sink);
            }
        }
        self.open_emitted = false;
    }

    /// Write the finished bar `b` (the open bar or an empty fill bar) and hand it to `sink`.
    fn emit<F: FnMut(BarRow<'_>)>(&mut self, b: &OpenBar, sink: &mut F) {
        let traded = b.count > 0.0;
        if traded {
            self.seg.last_close = Some(b.close);
        }
        let quote_mid = self.seg.quote.map(|q| (q.bid + q.ask) / 2.0);
        let fill = self.seg.last_close.or(quote_mid).unwrap_or(0.0);
        let r = &mut self.row;
        r[..N_CORE].fill(0.0);
        if traded {
            r[OPEN] = b.open;
            r[HIGH] = b.high;
            r[LOW] = b.low;
            r[CLOSE] = b.close;
            r[VWAP] = b.notional / b.volume;
        } else {
            r[OPEN] = fill;
            r[HIGH] = fill;
            r[LOW] = fill;
            r[CLOSE] = fill;
            r[VWAP] = fill;
        }
        r[VOLUME] = b.volume;
        r[BUY_VOLUME] = b.buy;
        r[SELL_VOLUME] = b.sell;
        r[TRADE_COUNT] = b.count;
        match (self.seg.quote, quote_mid) {
            (Some(q), Some(mid)) => {
                r[BID] = q.bid;
                r[ASK] = q.ask;
                r[MID] = mid;
                r[SPREAD] = q.ask - q.bid;
                r[BID_SIZE] = q.bid_size;
                r[ASK_SIZE] = q.ask_size;
            }
            _ => {
                r[BID] = r[CLOSE];
                r[ASK] = r[CLOSE];
                r[MID] = r[CLOSE];
            }
        }
        r[SESSION_START] = if b.segment_start { 1.0 } else { 0.0 };
        r[TIME_OF_DAY] = (b.start - b.day_start) as f64 / 1e9;
        while let Some((at, values)) = self.pending_surface.front() {
            if *at > b.start {
                break;
            }
            for (cur, v) in self.surface.iter_mut().zip(values) {
                if !v.is_nan() {
                    *cur = *v;
                }
            }
            self.pending_surface.pop_front();
        }
        r[N_CORE..].copy_from_slice(&self.surface);
        sink(BarRow { ts: b.start, values: &self.row, segment_start: b.segment_start });
    }

    /// The clock reached `ts` (UTC ns) with no earlier event to come: emit the open bar if `ts`
    /// lies in a later bar. Events in earlier bars are then late, as after any accepted event.
    /// Returns whether a bar was emitted.
    pub fn advance<F: FnMut(BarRow<'_>)>(&mut self, ts: i64, sink: &mut F) -> bool {
        let Some(day) = self.day_of(ts) else { return false };
        let bar = day.bar_start(ts, self.spec.bar_ns);
        self.latest_bar = self.latest_bar.max(bar);
        match self.open {
            Some(open) if !self.open_emitted && bar > open.start => {
                self.emit(&open, sink);
                self.open_emitted = true;
                true
            }
            _ => false,
        }
    }

    /// End of the stream: emit the open bar (as the batch builder's last bar). The bar stays
    /// the segment's latest, so a later event continues the segment with forward-filled bars.
    pub fn finish<F: FnMut(BarRow<'_>)>(&mut self, sink: &mut F) -> bool {
        match self.open {
            Some(open) if !self.open_emitted => {
                self.emit(&open, sink);
                self.open_emitted = true;
                true
            }
            _ => false,
        }
    }
}

fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}
