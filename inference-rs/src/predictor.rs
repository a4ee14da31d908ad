//! `PricePredictor`: ticks in, per-horizon distributions out, for one or many symbols.
//!
//! `ort`'s `Session::run` takes `&mut self`, so a predictor owns exactly one session and every
//! method that runs the model takes `&mut self`. For multi-threaded serving, shard symbols over a
//! pool of predictors (one per thread, each with its own session; see docs/runtime.md) instead of
//! sharing one behind a lock.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use ort::session::Session;

use crate::bars::columns::{N_ALL, N_OPTION};
use crate::bars::{BarBuilder, BarRow, BarSpec, BuildStats, ColumnMap, ContextFeed, Event, Reject, WindowRing};
use crate::contract::ModelSpec;
use crate::decode::{summarize_into, Summary, DEFAULT_QUANTILES};
use crate::error::{Error, Result};
use crate::model::load_model;
use crate::runtime::{BoundRun, SessionConfig};

/// How a predictor is built.
#[derive(Debug, Clone)]
pub struct PredictorConfig {
    pub session: SessionConfig,
    /// The ONNX Runtime library (else `ORT_DYLIB_PATH`).
    pub ort_lib: Option<PathBuf>,
    /// When set, ticks for any other symbol are rejected (`unknown_symbol`).
    pub symbols: Option<Vec<String>>,
    /// Quantile levels of the summaries.
    pub quantiles: Vec<f64>,
    /// Local trading window "HH:MM-HH:MM" (BarSpec.session); `None` keeps every event.
    pub session_window: Option<String>,
    /// The largest batch one call carries (`ash-serve --max-batch`): its tensors are bound at
    /// load, beside batch 1's; other sizes are bound on first use (see `PricePredictor::bound`).
    pub max_batch: usize,
    /// Most symbols tracked at once; ticks for further new symbols are rejected
    /// (`too_many_symbols`), so a feed of garbage symbols cannot exhaust memory.
    pub max_symbols: usize,
    /// Memory budget of the contract's run checks at load (bytes; `DEFAULT_MEMORY_BUDGET`).
    pub memory_budget: u64,
    /// Longest symbol name in bytes; longer names are rejected (`symbol_too_long`), so
    /// `max_symbols` bounds the memory of the symbol table.
    pub max_symbol_bytes: usize,
}

impl Default for PredictorConfig {
    fn default() -> Self {
        PredictorConfig {
            session: SessionConfig::default(),
            ort_lib: None,
            symbols: None,
            quantiles: DEFAULT_QUANTILES.to_vec(),
            session_window: None,
            max_batch: 512,
            max_symbols: 10_000,
            max_symbol_bytes: 64,
            memory_budget: crate::contract::DEFAULT_MEMORY_BUDGET,
        }
    }
}

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
fn check_float32(event: &Event<'_>) -> std::result::Result<(), TickError> {
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

/// One horizon's distribution and its summary.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct HorizonPrediction {
    pub horizon_s: f64,
    pub probs: Vec<f32>,
    pub edges: Vec<f32>,
    #[serde(flatten)]
    pub summary: Summary,
}

/// A prediction for one symbol from its last `window` bars.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Prediction {
    pub symbol: String,
    /// Start (UTC ns) of the last bar of the window; horizons count from its end.
    pub bar_ts: i64,
    /// The reference price of the last bar (`ash.reference_price`).
    pub reference_price: f64,
    pub horizons: Vec<HorizonPrediction>,
}

struct SymbolState {
    name: String,
    builder: BarBuilder,
    ring: WindowRing,
    /// Bars finished since the last prediction for this symbol.
    fresh_bars: u32,
}

/// FxHash (rustc's hasher): symbols are short, trusted-size keys; SipHash's DoS resistance is
/// not worth 20 ns per tick here (an unknown-symbol flood is bounded by `--symbols`).
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type BuildFxHasher = std::hash::BuildHasherDefault<FxHasher>;

/// Batch sizes other than 1 whose bound tensors are kept (see `PricePredictor::bound`).
const BATCH_SLOTS: usize = 4;

pub struct PricePredictor {
    session: Session,
    spec: ModelSpec,
    bar_spec: BarSpec,
    columns: ColumnMap,
    index: HashMap<String, usize, BuildFxHasher>,
    states: Vec<SymbolState>,
    last_symbol: usize,
    allowed: Option<HashSet<String>>,
    max_symbols: usize,
    max_symbol_bytes: usize,
    /// Bound tensors for batch 1 (the per-bar prediction path).
    single: BoundRun,
    /// Bound tensors for other batch sizes, most recently used first (at most `BATCH_SLOTS`).
    batched: Vec<BoundRun>,
    probs_out: Vec<f32>,
    edges_out: Vec<f32>,
    levels: Vec<f64>,
    scratch: Vec<f64>,
    use_mid: bool,
    /// When `Some`, every finished bar is also recorded here (symbol index, start, full row).
    captured: Option<Vec<(usize, i64, [f64; N_ALL])>>,
    /// The context symbol's bars, when the model reads `ctx_*` columns (bars/context.rs).
    context: Option<ContextFeed>,
}

impl PricePredictor {
    /// Load and validate `model_path` (contract v1), check the runtime can build its bars, and
    /// open the session. CUDA that cannot start is an error, never a silent CPU fallback.
    pub fn new(model_path: impl AsRef<Path>, config: PredictorConfig) -> Result<Self> {
        let loaded = load_model(model_path.as_ref(), config.ort_lib.as_deref(), &config.session, config.memory_budget)?;
        let spec = loaded.spec;
        if spec.bar_columns_version != crate::bars::columns::BAR_COLUMNS_VERSION {
            return Err(Error::Unservable(format!(
                "the model's bars are ash.bar_columns_version {}, this runtime builds version {}",
                spec.bar_columns_version,
                crate::bars::columns::BAR_COLUMNS_VERSION
            )));
        }
        let columns = ColumnMap::new(&spec.bar_columns).map_err(Error::Unservable)?;
        if columns.uses_context() && spec.context_symbol.is_none() {
            return Err(Error::Unservable(
                "the model reads ctx_* columns but its metadata names no context symbol (ash.context_symbol); \
                 re-export it with `ash export RUN` from a run whose data.context_symbol is set"
                    .into(),
            ));
        }
        let bar_spec = BarSpec::new(
            spec.bar_seconds,
            &spec.timezone,
            spec.gap_seconds,
            config.session_window.as_deref(),
            &spec.gap_policy,
        )
        .map_err(|e| Error::Unservable(format!("bar spec from the model metadata: {e}")))?;
        if let Some(bad) = config.quantiles.iter().find(|q| !(**q > 0.0 && **q < 1.0)) {
            return Err(Error::Input(format!("quantile level {bad} must be in (0, 1)")));
        }
        let (nh, k) = (spec.n_horizons(), spec.n_buckets);
        let context = match (&spec.context_symbol, columns.uses_context()) {
            (Some(symbol), true) => Some(ContextFeed::new(symbol, bar_spec.clone(), spec.window)),
            _ => None,
        };
        Ok(PricePredictor {
            context,
            session: loaded.session,
            single: BoundRun::new(1, spec.window, spec.n_columns(), nh, k)?,
            batched: match config.max_batch {
                0 | 1 => Vec::new(),
                n => vec![BoundRun::new(n, spec.window, spec.n_columns(), nh, k)?],
            },
            probs_out: Vec::with_capacity(nh * k),
            edges_out: Vec::with_capacity(nh * (k + 1)),
            use_mid: spec.reference_price == "mid",
            spec,
            bar_spec,
            columns,
            index: HashMap::default(),
            states: Vec::new(),
            last_symbol: 0,
            allowed: config.symbols.map(|s| s.into_iter().collect()),
            max_symbols: config.max_symbols,
            max_symbol_bytes: config.max_symbol_bytes,
            levels: config.quantiles,
            scratch: Vec::new(),
            captured: None,
        })
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The serving session (e.g. to time a bare `Session::run` against `predict`).
    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Symbols seen so far, in first-seen order.
    pub fn symbols(&self) -> impl Iterator<Item = &str> {
        self.states.iter().map(|s| s.name.as_str())
    }

    pub fn stats(&self, symbol: &str) -> Option<&BuildStats> {
        self.index.get(symbol).map(|i| self.states[*i].builder.stats())
    }

    /// The longest symbol name accepted (`PredictorConfig::max_symbol_bytes`).
    pub fn max_symbol_bytes(&self) -> usize {
        self.max_symbol_bytes
    }

    pub fn is_ready(&self, symbol: &str) -> bool {
        self.index.get(symbol).is_some_and(|i| self.ready_at(*i))
    }

    /// A full window whose newest bar the context (if any) covers.
    fn ready_at(&self, i: usize) -> bool {
        let ring = &self.states[i].ring;
        ring.is_ready() && self.context.as_ref().is_none_or(|c| c.covers(ring.last_ts()))
    }

    /// The context symbol's feed (None when the model reads no `ctx_*` column).
    pub fn context(&self) -> Option<&ContextFeed> {
        self.context.as_ref()
    }

    /// Symbols whose newest bar waited for the context symbol and that are now ready.
    pub fn take_released(&mut self, mut on_ready: impl FnMut(&str)) {
        let Some(ctx) = self.context.as_mut() else { return };
        let states = &self.states;
        ctx.release(
            |i| states[i].ring.last_ts(),
            |i| {
                if states[i].ring.is_ready() {
                    on_ready(&states[i].name);
                }
            },
        );
    }

    fn state_index(&mut self, symbol: &str) -> std::result::Result<usize, TickError> {
        // Feeds come in runs of one symbol: compare with the last one before hashing.
        if let Some(state) = self.states.get(self.last_symbol) {
            if state.name == symbol {
                return Ok(self.last_symbol);
            }
        }
        if let Some(i) = self.index.get(symbol) {
            self.last_symbol = *i;
            return Ok(*i);
        }
        if symbol.len() > self.max_symbol_bytes {
            return Err(TickError::SymbolTooLong { len: symbol.len(), limit: self.max_symbol_bytes });
        }
        if let Some(allowed) = &self.allowed {
            if !allowed.contains(symbol) {
                return Err(TickError::UnknownSymbol(symbol.to_string()));
            }
        }
        if self.states.len() >= self.max_symbols {
            return Err(TickError::TooManySymbols(symbol.to_string()));
        }
        // First tick of a new symbol: the only allocation on the tick path.
        let i = self.states.len();
        self.states.push(SymbolState {
            name: symbol.to_string(),
            builder: BarBuilder::new(self.bar_spec.clone()),
            ring: WindowRing::new(self.spec.window, self.spec.n_columns(), self.bar_spec.gap_policy),
            fresh_bars: 0,
        });
        self.index.insert(symbol.to_string(), i);
        Ok(i)
    }

    /// Ingest one tick: O(1), no allocation once the symbol is known.
    pub fn update(&mut self, tick: &Tick<'_>) -> std::result::Result<Updated, TickError> {
        check_float32(&tick.event)?;
        if let Some(ctx) = self.context.as_mut().filter(|c| c.symbol() == tick.symbol) {
            // The context symbol's ticks build its own bars; it is served too unless the
            // symbol list leaves it out.
            let pushed = ctx.push(&tick.event);
            if self.allowed.as_ref().is_some_and(|a| !a.contains(tick.symbol)) {
                return pushed.map(|()| Updated { bars_closed: 0, ready: false }).map_err(TickError::Rejected);
            }
        }
        let i = self.state_index(tick.symbol)?;
        let columns = &self.columns;
        let state = &mut self.states[i];
        let (ring, builder) = (&mut state.ring, &mut state.builder);
        let captured = &mut self.captured;
        let mut closed = 0u32;
        let mut sink = |row: BarRow<'_>| {
            ring.push(&row, columns);
            if let Some(log) = captured.as_mut() {
                log.push((i, row.ts, *row.values));
            }
            closed += 1;
        };
        builder.push(&tick.event, &mut sink).map_err(TickError::Rejected)?;
        state.fresh_bars += closed;
        let mut ready = state.ring.is_ready();
        if let Some(ctx) = self.context.as_mut().filter(|c| !c.covers(state.ring.last_ts())) {
            if closed > 0 {
                ctx.wait(i);
            }
            ready = false;
        }
        Ok(Updated { bars_closed: closed, ready })
    }

    /// The clock reached `ts` (UTC ns) for every symbol: finish open bars that lie before it.
    /// Calls `on_closed` with each symbol that got a bar.
    pub fn advance(&mut self, ts: i64, mut on_closed: impl FnMut(&str)) {
        if let Some(ctx) = self.context.as_mut() {
            ctx.advance(ts);
        }
        let columns = &self.columns;
        let captured = &mut self.captured;
        let context = &mut self.context;
        for (i, state) in self.states.iter_mut().enumerate() {
            let ring = &mut state.ring;
            let mut sink = |row: BarRow<'_>| {
                ring.push(&row, columns);
                if let Some(log) = captured.as_mut() {
                    log.push((i, row.ts, *row.values));
                }
            };
            if state.builder.advance(ts, &mut sink) {
                state.fresh_bars += 1;
                match context.as_mut() {
                    Some(ctx) if !ctx.covers(state.ring.last_ts()) => ctx.wait(i),
                    _ => on_closed(&state.name),
                }
            }
        }
    }

    /// End of the stream: finish every open bar (as the batch builder's last bars). Calls
    /// `on_closed` with each symbol that got a bar.
    pub fn finish(&mut self, mut on_closed: impl FnMut(&str)) {
        if let Some(ctx) = self.context.as_mut() {
            ctx.finish();
        }
        let columns = &self.columns;
        let captured = &mut self.captured;
        for (i, state) in self.states.iter_mut().enumerate() {
            let ring = &mut state.ring;
            let mut sink = |row: BarRow<'_>| {
                ring.push(&row, columns);
                if let Some(log) = captured.as_mut() {
                    log.push((i, row.ts, *row.values));
                }
            };
            if state.builder.finish(&mut sink) {
                state.fresh_bars += 1;
                on_closed(&state.name);
            }
        }
    }

    /// Record every finished bar from now on (for debugging and parity checks; allocates).
    pub fn capture_bars(&mut self, on: bool) {
        self.captured = if on { Some(Vec::new()) } else { None };
    }

    /// The bars finished since the last call (symbol, start in UTC ns, the model's columns).
    pub fn drain_bars(&mut self) -> Vec<(String, i64, Vec<f64>)> {
        let Some(log) = self.captured.as_mut() else { return Vec::new() };
        let mut rows = std::mem::take(log);
        let mut out = Vec::with_capacity(rows.len());
        // A bar whose context fields are not final yet stays in the log (bars/context.rs).
        rows.retain(|(i, ts, row)| match self.context.as_mut() {
            Some(ctx) if !ctx.covers(*ts) => true,
            ctx => {
                let values = ctx.map(|c| c.lookup(*ts));
                out.push((self.states[*i].name.clone(), *ts, self.columns.select(row, values.as_ref())));
                false
            }
        });
        if let Some(log) = self.captured.as_mut() {
            *log = rows;
        }
        out
    }

    /// Bars finished for `symbol` since its last prediction.
    pub fn fresh_bars(&self, symbol: &str) -> u32 {
        self.index.get(symbol).map_or(0, |i| self.states[*i].fresh_bars)
    }

    /// Predict for one symbol from its last `window` bars.
    pub fn predict(&mut self, symbol: &str) -> Result<Prediction> {
        let mut out = Prediction::default();
        self.predict_into(symbol, &mut out)?;
        Ok(out)
    }

    /// Predict for one symbol into `out`, reusing its buffers: after the first call for a given
    /// `out`, the runtime's own code allocates nothing (ONNX Runtime allocates its outputs).
    pub fn predict_into(&mut self, symbol: &str, out: &mut Prediction) -> Result<()> {
        self.fill_inputs(&[symbol])?;
        self.run_windows(1)?;
        self.write_prediction(0, symbol, out);
        Ok(())
    }

    /// Predict for many symbols in ONE ONNX Runtime call (batch = number of symbols).
    pub fn predict_batch<S: AsRef<str>>(&mut self, symbols: &[S]) -> Result<Vec<Prediction>> {
        if symbols.is_empty() {
            return Ok(Vec::new());
        }
        self.fill_inputs(symbols)?;
        self.run_windows(symbols.len())?;
        Ok(symbols
            .iter()
            .enumerate()
            .map(|(b, sym)| {
                let mut p = Prediction::default();
                self.write_prediction(b, sym.as_ref(), &mut p);
                p
            })
            .collect())
    }

    /// The bound tensors for `batch` windows. Batch 1 has its own; other sizes share
    /// `BATCH_SLOTS` slots, most recently used first (a server's batches come in a few sizes:
    /// its `--max-batch` and the remainders), built on first use of a size.
    fn bound(&mut self, batch: usize) -> Result<&mut BoundRun> {
        if batch <= 1 {
            return Ok(&mut self.single);
        }
        match self.batched.iter().position(|b| b.batch() == batch) {
            Some(at) => self.batched[..=at].rotate_right(1),
            None => {
                let (nh, k) = (self.spec.n_horizons(), self.spec.n_buckets);
                let fresh = BoundRun::new(batch, self.spec.window, self.spec.n_columns(), nh, k)?;
                self.batched.truncate(BATCH_SLOTS - 1);
                self.batched.insert(0, fresh);
            }
        }
        self.batched.first_mut().ok_or_else(|| Error::Input(format!("no tensors bound for batch {batch}")))
    }

    /// Copy each symbol's window into the bound input tensor of this batch size (row b =
    /// symbols[b]).
    fn fill_inputs<S: AsRef<str>>(&mut self, symbols: &[S]) -> Result<()> {
        let per_window = self.spec.window * self.spec.n_columns();
        self.bound(symbols.len())?;
        let input = current(&mut self.single, &mut self.batched, symbols.len())?.input_mut()?;
        for (b, sym) in symbols.iter().enumerate() {
            let sym = sym.as_ref();
            let i = *self.index.get(sym).ok_or_else(|| Error::UnknownSymbol(sym.to_string()))?;
            let state = &mut self.states[i];
            let out = &mut input[b * per_window..(b + 1) * per_window];
            if !state.ring.copy_window(out) {
                return Err(Error::NotReady {
                    symbol: sym.to_string(),
                    have: state.ring.len(),
                    need: state.ring.window(),
                });
            }
            if let Some(ctx) = self.context.as_mut() {
                if !ctx.covers(state.ring.last_ts()) {
                    return Err(Error::Input(format!(
                        "cannot predict {sym:?} yet: its newest bar waits for the context symbol {:?} to reach it",
                        ctx.symbol()
                    )));
                }
                ctx.fill_window(&state.ring, &self.columns, out);
            }
            state.fresh_bars = 0;
        }
        Ok(())
    }

    /// Decode row `b` of the last run's outputs into `out` (buffers reused).
    fn write_prediction(&mut self, b: usize, symbol: &str, out: &mut Prediction) {
        let (nh, k) = (self.spec.n_horizons(), self.spec.n_buckets);
        if let Some(i) = self.index.get(symbol) {
            let ring = &self.states[*i].ring;
            out.bar_ts = ring.last_ts();
            out.reference_price = ring.reference_price(self.use_mid);
        }
        out.symbol.clear();
        out.symbol.push_str(symbol);
        out.horizons.truncate(nh);
        while out.horizons.len() < nh {
            out.horizons.push(HorizonPrediction::default());
        }
        for (h, hp) in out.horizons.iter_mut().enumerate() {
            let row = b * nh + h;
            let probs = &self.probs_out[row * k..(row + 1) * k];
            let edges = &self.edges_out[row * (k + 1)..(row + 1) * (k + 1)];
            hp.horizon_s = self.spec.horizons[h];
            hp.probs.clear();
            hp.probs.extend_from_slice(probs);
            hp.edges.clear();
            hp.edges.extend_from_slice(edges);
            summarize_into(probs, edges, &self.levels, &mut self.scratch, &mut hp.summary);
        }
    }

    /// Run the model on raw windows (`[batch, window, n_columns]`, oldest bar first), bypassing
    /// the bar buffers: the parity path. Returns flat `probs` and `edges`.
    pub fn run_raw(&mut self, windows: &[f32], batch: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        let per_window = self.spec.window * self.spec.n_columns();
        if windows.len() != batch * per_window {
            return Err(Error::Input(format!(
                "{} floats is not {batch} windows of {} bars x {} columns",
                windows.len(),
                self.spec.window,
                self.spec.n_columns()
            )));
        }
        self.bound(batch)?.input_mut()?.copy_from_slice(windows);
        self.run_windows(batch)?;
        Ok((self.probs_out.clone(), self.edges_out.clone()))
    }

    /// One `Session::run` on the bound tensors of `batch` windows (filled by `fill_inputs` or
    /// `run_raw`); the outputs are copied into the reused output buffers.
    fn run_windows(&mut self, batch: usize) -> Result<()> {
        current(&mut self.single, &mut self.batched, batch)?.run(
            &mut self.session,
            &mut self.probs_out,
            &mut self.edges_out,
        )?;
        let (nh, k) = (self.spec.n_horizons(), self.spec.n_buckets);
        if self.probs_out.len() != batch * nh * k || self.edges_out.len() != batch * nh * (k + 1) {
            return Err(Error::Input(format!(
                "the model returned {} probs and {} edges for batch {batch}; expected {} and {}",
                self.probs_out.len(),
                self.edges_out.len(),
                batch * nh * k,
                batch * nh * (k + 1)
            )));
        }
        Ok(())
    }
}

/// The bound tensors `PricePredictor::bound` made ready for `batch` (field-wise, so the caller
/// can borrow the symbol states at the same time).
fn current<'a>(single: &'a mut BoundRun, batched: &'a mut [BoundRun], batch: usize) -> Result<&'a mut BoundRun> {
    match batched.first_mut() {
        _ if batch <= 1 => Ok(single),
        Some(b) if b.batch() == batch => Ok(b),
        _ => Err(Error::Input(format!("no tensors bound for batch {batch}"))),
    }
}

/// An all-NaN surface update (every column unchanged): a convenient base for partial updates.
pub const NO_SURFACE_CHANGE: [f64; N_OPTION] = [f64::NAN; N_OPTION];
