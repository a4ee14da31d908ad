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
use crate::bars::{BarBuilder, BarRow, BarSpec, BuildStats, ColumnMap, ContextFeed, WindowRing};
use crate::contract::ModelSpec;
use crate::decode::DEFAULT_QUANTILES;
use crate::error::{Error, Result};
use crate::model::load_model;
use crate::runtime::{BoundRun, SessionConfig};

mod inference;
mod tick;

pub use inference::{HorizonPrediction, Prediction};
use tick::check_float32;
pub use tick::{Tick, TickError, Updated};

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
    captured: Option<BarLog>,
    /// The context symbol's bars, when the model reads `ctx_*` columns (bars/context.rs).
    context: Option<ContextFeed>,
    /// What `huge_pages::collapse_anonymous_memory` did after loading (bytes, or why not).
    huge_pages: std::result::Result<usize, String>,
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
            huge_pages: loaded.huge_pages,
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
    /// Bytes collapsed onto 2 MiB pages after loading, or why none were (`huge_pages`).
    pub fn huge_pages(&self) -> &std::result::Result<usize, String> {
        &self.huge_pages
    }

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
            keep_bar(i, &row, ring, columns, captured);
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
            let mut sink = |row: BarRow<'_>| keep_bar(i, &row, ring, columns, captured);
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
            let mut sink = |row: BarRow<'_>| keep_bar(i, &row, ring, columns, captured);
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
}

/// Finished bars as `capture_bars` records them: (symbol index, start, full row).
type BarLog = Vec<(usize, i64, [f64; N_ALL])>;

/// A finished bar of symbol `i`: into its window, and into the capture log when one is kept
/// (the one sink of `update`, `advance` and `finish`).
#[inline]
fn keep_bar(i: usize, row: &BarRow<'_>, ring: &mut WindowRing, columns: &ColumnMap, captured: &mut Option<BarLog>) {
    ring.push(row, columns);
    if let Some(log) = captured.as_mut() {
        log.push((i, row.ts, *row.values));
    }
}

/// An all-NaN surface update (every column unchanged): a convenient base for partial updates.
pub const NO_SURFACE_CHANGE: [f64; N_OPTION] = [f64::NAN; N_OPTION];
