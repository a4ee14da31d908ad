//! The `ash-serve` engine: JSON lines in (TCP or stdin), predictions out, counters and latency
//! logs on stderr. One engine thread owns the predictor (and its one ONNX Runtime session);
//! reader threads only split lines. Bad input is counted and answered, never fatal.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::thread;
use std::time::{Duration, Instant};

use crate::predictor::PricePredictor;
use crate::protocol::{parse_line, write_json, write_prediction, Message};

/// Longest accepted input line; longer lines are dropped and counted (`line_too_long`).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// When predictions are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmitMode {
    /// After every input line that finished a bar of a ready symbol (one ONNX call per line:
    /// a `clock` line that finishes bars of many symbols predicts them in one batch).
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
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            emit: EmitMode::Bar,
            log_every: 10.0,
            reply_rejects: true,
            finish_at_eof: true,
            emit_bars: false,
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

/// Latencies of ONNX calls since the last log (µs), for p50/p99.
#[derive(Debug, Default)]
struct Latencies {
    recent: Vec<f64>,
    all: Vec<f64>,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn p50_p99(values: &[f64]) -> (f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    (percentile(&v, 0.5), percentile(&v, 0.99))
}

/// What the readers send the engine.
enum Input {
    Line { conn: u64, line: Result<String, &'static str> },
    Connected { conn: u64, writer: TcpStream },
    Closed { conn: u64 },
    Eof,
    Shutdown(&'static str),
}

/// Read lines of at most MAX_LINE_BYTES; an over-long line is skipped and reported.
fn read_lines<R: Read>(reader: R, conn: u64, tx: &SyncSender<Input>) {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        let mut too_long = false;
        loop {
            let chunk = match reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            if chunk.is_empty() {
                if !buf.is_empty() && !too_long {
                    let line = String::from_utf8(std::mem::take(&mut buf)).map_err(|_| "invalid_utf8");
                    let _ = tx.send(Input::Line { conn, line });
                }
                return;
            }
            let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if !too_long {
                if buf.len() + take > MAX_LINE_BYTES + 1 {
                    too_long = true;
                    buf.clear();
                } else {
                    buf.extend_from_slice(&chunk[..take]);
                }
            }
            reader.consume(take);
            if done {
                break;
            }
        }
        let line = if too_long {
            Err("line_too_long")
        } else {
            while matches!(buf.last(), Some(b'\n' | b'\r')) {
                buf.pop();
            }
            String::from_utf8(std::mem::take(&mut buf)).map_err(|_| "invalid_utf8")
        };
        if tx.send(Input::Line { conn, line }).is_err() {
            return;
        }
    }
}

/// The engine: owns the predictor, processes lines in arrival order.
pub struct Engine {
    predictor: PricePredictor,
    options: ServeOptions,
    pub counters: Counters,
    latencies: Latencies,
    out: Vec<u8>,
    pending: Vec<String>,
    last_log: Instant,
    lines_at_last_log: u64,
    logged_rejects: HashMap<&'static str, u64>,
}

impl Engine {
    pub fn new(mut predictor: PricePredictor, options: ServeOptions) -> Self {
        predictor.capture_bars(options.emit_bars);
        Engine {
            predictor,
            options,
            counters: Counters::default(),
            latencies: Latencies::default(),
            out: Vec::with_capacity(1 << 16),
            pending: Vec::new(),
            last_log: Instant::now(),
            lines_at_last_log: 0,
            logged_rejects: HashMap::new(),
        }
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
        if let Some(tick) = message.tick() {
            match self.predictor.update(&tick) {
                Ok(u) => {
                    self.counters.ticks_accepted += 1;
                    if u.bars_closed > 0 && u.ready && self.options.emit == EmitMode::Bar {
                        self.pending.push(tick.symbol.to_string());
                    }
                }
                Err(e) => {
                    let detail = format!("{} tick for {:?}: {e}", kind_name(&message), tick.symbol);
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
                Message::Predict { symbols } => {
                    let wanted: Vec<String> = match symbols {
                        Some(list) => list.iter().map(|s| s.to_string()).collect(),
                        None => self
                            .predictor
                            .symbols()
                            .filter(|s| self.predictor.is_ready(s))
                            .map(str::to_string)
                            .collect(),
                    };
                    let (ready, not_ready): (Vec<String>, Vec<String>) =
                        wanted.into_iter().partition(|s| self.predictor.is_ready(s));
                    for s in not_ready {
                        let detail = format!("cannot predict {s:?}: unknown symbol or fewer bars than the window");
                        self.counters.prediction_errors += 1;
                        write_json(
                            &mut self.out,
                            &serde_json::json!({"type": "error", "line": line_no, "message": detail}),
                        );
                    }
                    self.pending.extend(ready);
                }
                Message::Stats => {
                    let stats = self.stats_json();
                    write_json(&mut self.out, &stats);
                }
                _ => {}
            }
        }
        self.flush_predictions();
    }

    /// Write the bars finished by the last line (only with `emit_bars`).
    fn write_bars(&mut self) {
        if !self.options.emit_bars {
            return;
        }
        for (symbol, ts, values) in self.predictor.drain_bars() {
            let nums: Vec<serde_json::Value> = values
                .iter()
                .map(|v| serde_json::Number::from_f64(*v).map_or(serde_json::Value::Null, serde_json::Value::Number))
                .collect();
            write_json(&mut self.out, &serde_json::json!({"type": "bar", "symbol": symbol, "ts": ts, "values": nums}));
        }
    }

    /// Predict every pending symbol in one ONNX call.
    fn flush_predictions(&mut self) {
        self.write_bars();
        if self.pending.is_empty() {
            return;
        }
        let symbols = std::mem::take(&mut self.pending);
        let start = Instant::now();
        let result = self.predictor.predict_batch(&symbols);
        let micros = start.elapsed().as_secs_f64() * 1e6;
        self.counters.onnx_calls += 1;
        match result {
            Ok(predictions) => {
                self.latencies.recent.push(micros);
                self.latencies.all.push(micros);
                for p in &predictions {
                    write_prediction(&mut self.out, p, micros, predictions.len());
                }
                self.counters.predictions += predictions.len() as u64;
            }
            Err(e) => {
                self.counters.prediction_errors += 1;
                eprintln!("ash-serve: prediction failed for {symbols:?}: {e}");
                write_json(&mut self.out, &serde_json::json!({"type": "error", "message": e.to_string()}));
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
        }
        self.flush_predictions();
    }

    /// Output produced so far (cleared).
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    pub fn stats_json(&self) -> serde_json::Value {
        let (p50, p99) = p50_p99(&self.latencies.all);
        let num = |v: f64| serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number);
        serde_json::json!({
            "type": "stats",
            "lines": self.counters.lines,
            "ticks_accepted": self.counters.ticks_accepted,
            "rejected": self.counters.rejected,
            "predictions": self.counters.predictions,
            "onnx_calls": self.counters.onnx_calls,
            "prediction_errors": self.counters.prediction_errors,
            "symbols": self.predictor.symbols().count(),
            "latency_us": {"p50": num(p50), "p99": num(p99)},
        })
    }

    /// Periodic stderr log of latencies and counters.
    fn maybe_log(&mut self) {
        if self.options.log_every <= 0.0 || self.last_log.elapsed().as_secs_f64() < self.options.log_every {
            return;
        }
        if self.counters.lines == self.lines_at_last_log {
            self.last_log = Instant::now();
            return; // idle: nothing to report
        }
        self.lines_at_last_log = self.counters.lines;
        let (p50, p99) = p50_p99(&self.latencies.recent);
        eprintln!(
            "ash-serve: {} ONNX calls in the last {:.0}s: p50 {:.1} us, p99 {:.1} us; totals: lines {}, ticks {}, rejected {}, predictions {}",
            self.latencies.recent.len(),
            self.last_log.elapsed().as_secs_f64(),
            p50,
            p99,
            self.counters.lines,
            self.counters.ticks_accepted,
            self.counters.rejected.values().sum::<u64>(),
            self.counters.predictions
        );
        self.latencies.recent.clear();
        self.last_log = Instant::now();
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

/// Where lines come from.
pub enum Source {
    Stdin,
    Tcp(TcpListener),
}

fn spawn_signal_thread(tx: SyncSender<Input>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    thread::Builder::new().name("signals".into()).spawn(move || {
        if let Some(sig) = signals.forever().next() {
            let _ = tx.send(Input::Shutdown(if sig == SIGINT { "SIGINT" } else { "SIGTERM" }));
        }
    })?;
    Ok(())
}

/// Serve until end of input (stdin), or a signal. Returns the final counters.
pub fn serve(engine: &mut Engine, source: Source) -> std::io::Result<()> {
    let (tx, rx) = sync_channel::<Input>(8192);
    spawn_signal_thread(tx.clone())?;
    match source {
        Source::Stdin => {
            let tx = tx.clone();
            thread::Builder::new().name("stdin".into()).spawn(move || {
                read_lines(std::io::stdin().lock(), 0, &tx);
                let _ = tx.send(Input::Eof);
            })?;
        }
        Source::Tcp(listener) => {
            eprintln!("ash-serve: listening on {}", listener.local_addr()?);
            let tx = tx.clone();
            thread::Builder::new().name("accept".into()).spawn(move || accept_loop(listener, tx))?;
        }
    }
    drop(tx);
    run_engine(engine, rx)
}

fn accept_loop(listener: TcpListener, tx: SyncSender<Input>) {
    let mut next = 1u64;
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            // e.g. out of file descriptors: back off instead of spinning.
            thread::sleep(Duration::from_millis(50));
            continue;
        };
        let conn = next;
        next += 1;
        let _ = stream.set_nodelay(true);
        let Ok(writer) = stream.try_clone() else { continue };
        if tx.send(Input::Connected { conn, writer }).is_err() {
            return;
        }
        let tx = tx.clone();
        let _ = thread::Builder::new().name(format!("conn{conn}")).spawn(move || {
            read_lines(stream, conn, &tx);
            let _ = tx.send(Input::Closed { conn });
        });
    }
}

/// Output queue of one TCP client, drained by its own writer thread, so a client that stops
/// reading never blocks the engine (its replies are dropped and counted instead).
struct ClientWriter {
    tx: SyncSender<Vec<u8>>,
    thread: thread::JoinHandle<()>,
}

impl ClientWriter {
    fn spawn(stream: TcpStream, conn: u64) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel::<Vec<u8>>(4096);
        let thread = thread::Builder::new().name(format!("write{conn}")).spawn(move || {
            let mut w = std::io::BufWriter::new(stream);
            while let Ok(bytes) = rx.recv() {
                if w.write_all(&bytes).is_err() {
                    return;
                }
                // Flush when the queue is momentarily empty: batches bursts, keeps latency low.
                let mut failed = false;
                while let Ok(more) = rx.try_recv() {
                    failed |= w.write_all(&more).is_err();
                }
                if failed || w.flush().is_err() {
                    return;
                }
            }
            let _ = w.flush();
        })?;
        Ok(ClientWriter { tx, thread })
    }
}

fn run_engine(engine: &mut Engine, rx: Receiver<Input>) -> std::io::Result<()> {
    let mut writers: HashMap<u64, ClientWriter> = HashMap::new();
    let stdout = std::io::stdout();
    let mut dropped_outputs = 0u64;
    let mut write_to = |conn: u64, bytes: Vec<u8>, writers: &mut HashMap<u64, ClientWriter>| {
        if bytes.is_empty() {
            return;
        }
        if conn == 0 {
            let mut lock = stdout.lock();
            let _ = lock.write_all(&bytes).and_then(|_| lock.flush());
        } else if let Some(w) = writers.get(&conn) {
            match w.tx.try_send(bytes) {
                Ok(()) => {}
                Err(std::sync::mpsc::TrySendError::Full(_)) => {
                    dropped_outputs += 1;
                    if dropped_outputs == 1 || dropped_outputs.is_multiple_of(1000) {
                        eprintln!("ash-serve: client {conn} is not reading; dropped {dropped_outputs} replies so far");
                    }
                }
                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => {
                    writers.remove(&conn);
                }
            }
        }
    };
    let tick = Duration::from_millis(250);
    loop {
        let msg = match rx.recv_timeout(tick) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => {
                engine.maybe_log();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        match msg {
            Input::Line { conn, line } => {
                match line {
                    Ok(l) => engine.handle_line(&l),
                    Err(reason) => {
                        engine.counters.lines += 1;
                        let n = engine.counters.lines;
                        engine.reject(reason, "line dropped", n);
                    }
                }
                let out = engine.take_output();
                write_to(conn, out, &mut writers);
                engine.maybe_log();
            }
            Input::Connected { conn, writer } => {
                eprintln!(
                    "ash-serve: connection {conn} from {}",
                    writer.peer_addr().map(|a| a.to_string()).unwrap_or_default()
                );
                match ClientWriter::spawn(writer, conn) {
                    Ok(w) => {
                        writers.insert(conn, w);
                    }
                    Err(e) => eprintln!("ash-serve: cannot start the writer of connection {conn}: {e}"),
                }
            }
            Input::Closed { conn } => {
                writers.remove(&conn);
            }
            Input::Eof => {
                engine.finish();
                let out = engine.take_output();
                write_to(0, out, &mut writers);
                break;
            }
            Input::Shutdown(sig) => {
                eprintln!("ash-serve: {sig} received, shutting down");
                break;
            }
        }
    }
    // Closing the queues lets each writer thread flush what it holds and exit; wait up to 2 s
    // for them (a client that stopped reading cannot hold the shutdown hostage).
    let threads: Vec<_> = writers.into_values().map(|w| w.thread).collect();
    let deadline = Instant::now() + Duration::from_secs(2);
    while threads.iter().any(|t| !t.is_finished()) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    let _ = std::io::stdout().flush();
    eprintln!("ash-serve: final counters {}", engine.stats_json());
    Ok(())
}
