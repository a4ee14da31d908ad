//! Running the model: batch-1 and batched predictions through the bound tensors, raw windows,
//! and the per-horizon distributions and summaries they return.

use crate::decode::{summarize_into, Summary};
use crate::error::{Error, Result};
use crate::runtime::BoundRun;

use super::{PricePredictor, BATCH_SLOTS};

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

impl PricePredictor {
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
