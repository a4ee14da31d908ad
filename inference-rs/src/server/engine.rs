//! The serving engine: owns the predictor (and its one ONNX Runtime session) and turns input
//! lines into replies, in order. It knows nothing of sockets: the transport feeds it lines and
//! ships what [`Engine::take_output`] returns. Every bound on the work of one line lives here:
//! symbols per `predict`, rows per ONNX call, timestamps too far in the future.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::latency::{LatencyStats, Percentiles};
use super::limits::Limits;
use super::transport::TransportCounters;
use crate::predictor::PricePredictor;
use crate::protocol::{parse_line, write_json, write_prediction, Message, PredictionDetail};

/// When predictions are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmitMode {
    /// After every input line that finished a bar of a ready symbol (a `clock` line that
    /// finishes bars of many symbols predicts them in batches of `Limits::max_batch`).
    Bar,
    /// Only on `{"type":"predict"}` requests.
    Request,
}

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub emit: EmitMode,
    /// Seconds between latency/counter log lines on stderr (0 = never).
    pub log_every: f64,
    /// Send a `{"type":"reject",...}` line back for each rejected line.
    pub reply_rejects: bool,
    /// At end of input (stdin EOF), finish the open bars and predict, like the batch builder.
    pub finish_at_eof: bool,
    /// Also write every finished bar as `{"type":"bar",...}` (debugging, parity checks).
    pub emit_bars: bool,
    /// Per horizon: summaries and bucket probabilities/edges, or summaries only.
    pub detail: PredictionDetail,
    pub limits: Limits,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            emit: EmitMode::Bar,
            log_every: 10.0,
            reply_rejects: true,
            finish_at_eof: true,
            emit_bars: false,
            detail: PredictionDetail::Full,
            limits: Limits::default(),
        }
    }
}

/// Counters of one serving run.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub lines: u64,
    pub ticks_accepted: u64,
    pub rejected: BTreeMap<&'static str, u64>,
    pub predictions: u64,
    pub onnx_calls: u64,
    pub prediction_errors: u64,
}

/// The engine: owns the predictor, processes lines in arrival order.
pub struct Engine {
    predictor: PricePredictor,
    options: ServeOptions,
    pub counters: Counters,
    latencies: LatencyStats,
    transport: Arc<TransportCounters>,
    out: Vec<u8>,
    pending: Vec<String>,
    last_log: Instant,
    lines_at_last_log: u64,
    logged_rejects: HashMap<&'static str, u64>,
    /// Wall clock (UTC ns) last read: refreshed only when a timestamp looks too far ahead of it.
    wall_ns: i64,
    /// Windows sent to ONNX Runtime so far: the transport's measure of work per turn.
    rows_run: u64,
}

fn wall_clock_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn num(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

fn percentiles_json(p: &Percentiles) -> serde_json::Value {
    serde_json::json!({"count": p.count, "p50": num(p.p50), "p90": num(p.p90), "p99": num(p.p99),
                       "p999": num(p.p999), "max": num(p.max)})
}

impl Engine {
    pub fn new(mut predictor: PricePredictor, options: ServeOptions) -> Self {
        predictor.capture_bars(options.emit_bars);
        Engine {
            predictor,
            options,
            counters: Counters::default(),
            latencies: LatencyStats::default(),
            transport: Arc::new(TransportCounters::default()),
            out: Vec::with_capacity(1 << 16),
            pending: Vec::new(),
            last_log: Instant::now(),
            lines_at_last_log: 0,
            logged_rejects: HashMap::new(),
            wall_ns: wall_clock_ns(),
            rows_run: 0,
        }
    }

    /// Windows sent to ONNX Runtime so far (the work measure of fair turns).
    pub fn rows_run(&self) -> u64 {
        self.rows_run
    }

    pub fn limits(&self) -> &Limits {
        &self.options.limits
    }

    /// Share the transport's connection counters (reported by `stats`).
    pub fn set_transport_counters(&mut self, counters: Arc<TransportCounters>) {
        self.transport = counters;
    }

    fn reject(&mut self, reason: &'static str, detail: &str, line_no: u64) {
        *self.counters.rejected.entry(reason).or_insert(0) += 1;
        let seen = self.logged_rejects.entry(reason).or_insert(0);
        *seen += 1;
        // Log the first few of each reason, then every 1000th, so a bad feed cannot flood stderr.
        if *seen <= 5 || seen.is_multiple_of(1000) {
            eprintln!("ash-serve: rejected line {line_no} ({reason}, {} so far): {detail}", seen);
        }
        if self.options.reply_rejects {
            write_json(
                &mut self.out,
                &serde_json::json!({"type": "reject", "line": line_no, "reason": reason, "detail": detail}),
            );
        }
    }

    /// A line the reader dropped before parsing (`line_too_long`, `invalid_utf8`): counted and
    /// answered like any rejected line.
    pub fn reject_unread_line(&mut self, reason: &'static str) {
        self.counters.lines += 1;
        let line_no = self.counters.lines;
        self.reject(reason, "line dropped", line_no);
    }

    /// `Err(detail)` when `ts` lies more than the allowed skew ahead of the wall clock.
    fn check_skew(&mut self, ts: i64) -> Result<(), String> {
        let Some(skew) = self.options.limits.max_clock_skew_ns() else { return Ok(()) };
        if ts <= self.wall_ns.saturating_add(skew) {
            return Ok(());
        }
        self.wall_ns = wall_clock_ns(); // the cached clock may be stale: read it again
        if ts <= self.wall_ns.saturating_add(skew) {
            return Ok(());
        }
        Err(format!(
            "ts {ts} is {:.0} s ahead of the server's clock; the limit is {} s (--max-clock-skew; \"off\" to \
             replay data stamped in the future)",
            (ts as f64 - self.wall_ns as f64) / 1e9,
            self.options.limits.max_clock_skew_s.unwrap_or(0.0)
        ))
    }

    /// Process one input line; replies (predictions, rejections, stats) are appended to the
    /// engine's output buffer (see [`Engine::take_output`]).
    pub fn handle_line(&mut self, line: &str) {
        self.counters.lines += 1;
        let line_no = self.counters.lines;
        if line.trim().is_empty() {
            return;
        }
        let message = match parse_line(line) {
            Ok(m) => m,
            Err(e) => return self.reject(e.reason, &e.detail, line_no),
        };
        let ts = match &message {
            Message::Trade { ts, .. } | Message::Quote { ts, .. } | Message::Surface { ts, .. } => *ts,
            Message::Clock { ts } => Some(*ts),
            _ => None,
        };
        if let Some(ts) = ts {
            if let Err(detail) = self.check_skew(ts) {
                return self.reject("future_timestamp", &detail, line_no);
            }
        }
        if let Some(tick) = message.tick() {
            match self.predictor.update(&tick) {
                Ok(u) => {
                    self.counters.ticks_accepted += 1;
                    if u.bars_closed > 0 && u.ready && self.options.emit == EmitMode::Bar {
                        self.pending.push(tick.symbol.to_string());
                    }
                }
                Err(e) => {
                    let detail = format!("{} tick for {:?}: {e}", kind_name(&message), truncated(tick.symbol));
                    self.reject(e.reason(), &detail, line_no);
                }
            }
        } else {
            match message {
                Message::Clock { ts } => {
                    let mut closed = Vec::new();
                    self.predictor.advance(ts, |s| closed.push(s.to_string()));
                    if self.options.emit == EmitMode::Bar {
                        let ready: Vec<String> = closed.into_iter().filter(|s| self.predictor.is_ready(s)).collect();
                        self.pending.extend(ready);
                    }
                }
                Message::Predict { symbols } => self.request_predictions(symbols.as_deref(), line_no),
                Message::Stats => {
                    let stats = self.stats_json();
                    write_json(&mut self.out, &stats);
                }
                _ => {}
            }
        }
        if self.options.emit == EmitMode::Bar {
            self.release_context_waiters();
        }
        self.flush_predictions();
    }

    /// Symbols whose newest bar waited for the context symbol's bars and is now covered by
    /// them (a context tick or a clock line moved its clock past it): predict them now.
    fn release_context_waiters(&mut self) {
        let pending = &mut self.pending;
        self.predictor.take_released(|s| pending.push(s.to_string()));
    }

    /// A `predict` request: distinct symbols, at most `max_predict_symbols`, each name within
    /// the symbol length limit; symbols that cannot be predicted get one `error` line each.
    fn request_predictions(&mut self, symbols: Option<&[std::borrow::Cow<'_, str>]>, line_no: u64) {
        let limit = self.options.limits.max_predict_symbols;
        let wanted: Vec<String> = match symbols {
            Some(list) => {
                let max_len = self.predictor.max_symbol_bytes();
                if let Some(long) = list.iter().find(|s| s.len() > max_len) {
                    let detail = format!(
                        "predict names a symbol of {} bytes; the limit is {max_len} bytes (--max-symbol-bytes)",
                        long.len()
                    );
                    return self.reject("symbol_too_long", &detail, line_no);
                }
                let mut seen = HashSet::with_capacity(list.len().min(limit + 1));
                let mut distinct = Vec::new();
                for s in list {
                    if seen.insert(s.as_ref()) {
                        if distinct.len() == limit {
                            let detail = format!(
                                "predict names more than {limit} distinct symbols (--max-predict-symbols); \
                                 split the request"
                            );
                            return self.reject("predict_too_large", &detail, line_no);
                        }
                        distinct.push(s.to_string());
                    }
                }
                distinct
            }
            None => {
                let ready: Vec<String> =
                    self.predictor.symbols().filter(|s| self.predictor.is_ready(s)).map(str::to_string).collect();
                if ready.len() > limit {
                    let detail = format!(
                        "{} symbols are ready, more than {limit} per request (--max-predict-symbols); name the \
                         symbols in several requests",
                        ready.len()
                    );
                    return self.reject("predict_too_large", &detail, line_no);
                }
                ready
            }
        };
        let (ready, not_ready): (Vec<String>, Vec<String>) =
            wanted.into_iter().partition(|s| self.predictor.is_ready(s));
        for s in not_ready {
            let detail = match self.predictor.context() {
                Some(ctx) => format!(
                    "cannot predict {s:?}: unknown symbol, fewer bars than the window, or its newest bar waits for \
                     the context symbol {:?} to reach it",
                    ctx.symbol()
                ),
                None => format!("cannot predict {s:?}: unknown symbol or fewer bars than the window"),
            };
            self.counters.prediction_errors += 1;
            write_json(&mut self.out, &serde_json::json!({"type": "error", "line": line_no, "message": detail}));
        }
        self.pending.extend(ready);
    }

    /// Write the bars finished by the last line (only with `emit_bars`).
    fn write_bars(&mut self) {
        if !self.options.emit_bars {
            return;
        }
        for (symbol, ts, values) in self.predictor.drain_bars() {
            let nums: Vec<serde_json::Value> = values.iter().map(|v| num(*v)).collect();
            write_json(&mut self.out, &serde_json::json!({"type": "bar", "symbol": symbol, "ts": ts, "values": nums}));
        }
    }

    /// Predict every pending symbol, in ONNX calls of at most `max_batch` windows.
    fn flush_predictions(&mut self) {
        self.write_bars();
        if self.pending.is_empty() {
            return;
        }
        let symbols = std::mem::take(&mut self.pending);
        for chunk in symbols.chunks(self.options.limits.max_batch.max(1)) {
            let start = Instant::now();
            let result = self.predictor.predict_batch(chunk);
            let micros = start.elapsed().as_secs_f64() * 1e6;
            self.counters.onnx_calls += 1;
            self.rows_run += chunk.len() as u64;
            match result {
                Ok(predictions) => {
                    self.latencies.record(micros);
                    for p in &predictions {
                        write_prediction(&mut self.out, p, micros, predictions.len(), self.options.detail);
                    }
                    self.counters.predictions += predictions.len() as u64;
                }
                Err(e) => {
                    self.counters.prediction_errors += 1;
                    eprintln!("ash-serve: prediction failed for {} symbol(s) from {:?}: {e}", chunk.len(), chunk[0]);
                    write_json(&mut self.out, &serde_json::json!({"type": "error", "message": e.to_string()}));
                }
            }
        }
        self.pending = symbols;
        self.pending.clear();
    }

    /// End of input: finish open bars (as the batch builder does) and predict them.
    pub fn finish(&mut self) {
        if !self.options.finish_at_eof {
            return;
        }
        let mut closed = Vec::new();
        self.predictor.finish(|s| closed.push(s.to_string()));
        if self.options.emit == EmitMode::Bar {
            let ready: Vec<String> = closed.into_iter().filter(|s| self.predictor.is_ready(s)).collect();
            self.pending.extend(ready);
            self.release_context_waiters();
        }
        self.flush_predictions();
    }

    /// Output produced so far (cleared).
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    pub fn stats_json(&self) -> serde_json::Value {
        let latency = self.latencies.all();
        let t = &self.transport;
        serde_json::json!({
            "type": "stats",
            "lines": self.counters.lines,
            "ticks_accepted": self.counters.ticks_accepted,
            "rejected": self.counters.rejected,
            "predictions": self.counters.predictions,
            "onnx_calls": self.counters.onnx_calls,
            "prediction_errors": self.counters.prediction_errors,
            "symbols": self.predictor.symbols().count(),
            "latency_us": percentiles_json(&latency),
            "connections": t.json(),
            "context": self.context_json(),
        })
    }

    /// The context symbol's feed in `stats` (null when the model reads no `ctx_*` column).
    fn context_json(&self) -> serde_json::Value {
        let Some(ctx) = self.predictor.context() else { return serde_json::Value::Null };
        let stats = ctx.stats();
        let rejected: BTreeMap<&str, u64> = crate::bars::Reject::ALL
            .iter()
            .filter(|r| stats.rejected(**r) > 0)
            .map(|r| (r.name(), stats.rejected(*r)))
            .collect();
        serde_json::json!({
            "symbol": ctx.symbol(),
            "bars": ctx.bars(),
            "clock_bar_ts": (ctx.clock_bar() != i64::MIN).then_some(ctx.clock_bar()),
            "accepted": stats.accepted_trades + stats.accepted_quotes,
            "rejected": rejected,
            "waiting_symbols": ctx.waiting(),
            "history_misses": ctx.misses(),
        })
    }

    /// Periodic stderr log of latencies and counters.
    pub fn maybe_log(&mut self) {
        if self.options.log_every <= 0.0 || self.last_log.elapsed().as_secs_f64() < self.options.log_every {
            return;
        }
        if self.counters.lines == self.lines_at_last_log {
            self.last_log = Instant::now();
            return; // idle: nothing to report
        }
        self.lines_at_last_log = self.counters.lines;
        let recent = self.latencies.take_recent();
        eprintln!(
            "ash-serve: {} ONNX calls in the last {:.0}s: p50 {:.0} us, p99 {:.0} us; totals: lines {}, ticks {}, \
             rejected {}, predictions {}",
            recent.count,
            self.last_log.elapsed().as_secs_f64(),
            recent.p50,
            recent.p99,
            self.counters.lines,
            self.counters.ticks_accepted,
            self.counters.rejected.values().sum::<u64>(),
            self.counters.predictions
        );
        self.last_log = Instant::now();
    }
}

/// At most 80 bytes of a name for messages (a symbol that is too long is echoed in part).
fn truncated(s: &str) -> &str {
    match s.char_indices().nth(80) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn kind_name(m: &Message<'_>) -> &'static str {
    match m {
        Message::Trade { .. } => "trade",
        Message::Quote { .. } => "quote",
        Message::Surface { .. } => "surface",
        _ => "message",
    }
}
