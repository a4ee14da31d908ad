//! The `bench` subcommand: `update` ns/tick, `predict` p50/p99 at batch 1 against the bare
//! `Session::run` on the same session and input (interleaved, same run), batched throughput,
//! and optionally Python ONNX Runtime on the same model as a reference, interleaved in chunks of
//! `CHUNK` calls so both see the same machine load. Besides wall time, each call's thread CPU
//! time is recorded: a wall-time tail that the CPU time does not have is the scheduler
//! (the process waiting for a core), not the runtime. Rust against Python is summarised as the
//! median of paired ratios with a 95 % interval (`stats::MedianCi`): each Rust chunk against the
//! Python chunk beside it.

mod python;
mod render;
mod stats;

pub use render::render;
pub use stats::RatioCi;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ort::value::TensorRef;

use crate::bars::Event;
use crate::contract::synthetic::Rng;
use crate::contract::{EDGES_NAME, INPUT_NAME, PROBS_NAME};
use crate::error::{Error, Result};
use crate::predictor::{PredictorConfig, PricePredictor, Tick};
use python::PythonReference;
use stats::{percentiles, timed, PairedChunks};

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub iters: usize,
    pub ticks: usize,
    pub batches: Vec<usize>,
    pub config: PredictorConfig,
    /// Python interpreter with onnxruntime, for the Python reference column (skipped if None).
    pub python: Option<PathBuf>,
}

/// Synthetic ticks for one symbol: a quote and ~4 trades per bar on a 1-cent random walk.
pub fn synthetic_ticks(n: usize, bar_ns: i64, seed: u64, start_ns: i64) -> Vec<Event<'static>> {
    let mut rng = Rng::new(seed);
    let mut mid_ticks: i64 = 30_000;
    let mut ts = start_ns;
    let step = (bar_ns / 5).max(1);
    (0..n)
        .map(|i| {
            ts += step;
            if i % 5 == 0 {
                mid_ticks += rng.int(-1, 2);
                let bid = (mid_ticks - 1) as f64 * 0.01;
                Event::Quote { ts: Some(ts), bid, ask: bid + 0.02, bid_size: 100.0, ask_size: 200.0 }
            } else {
                let price = (mid_ticks + rng.int(-1, 2)) as f64 * 0.01;
                Event::Trade { ts: Some(ts), price, size: (rng.int(1, 5) * 100) as f64, side: 0.0 }
            }
        })
        .collect()
}

/// 10:00 New York on 2013-10-07, in UTC ns: ticks start inside a trading day.
const START_NS: i64 = 1_381_154_400_000_000_000;

/// Calls per interleaved chunk: Rust runs `CHUNK` predict/bare pairs and Python `2·CHUNK`
/// calls (both sides then run the model equally long between switches), each side after one
/// untimed call (the first call after the other process ran pays its wake-up and cold caches).
/// Which side goes first alternates chunk by chunk. 10, not 50: the machine's speed drifts
/// 2–4× within seconds, and each chunk pair is one sample of the paired ratio
/// (`stats::PairedChunks`), so short chunks give many samples that each saw one speed. (Run E's
/// +30 % at large with 50, which had been put on cache eviction at 10, was this drift between
/// the two sides' medians: docs/runtime.md, "Third pass".)
const CHUNK: usize = 10;

fn warm(p: &mut PricePredictor, symbols: &[String], bar_ns: i64) -> Result<()> {
    let need = (p.spec().window + 2) * 5;
    for (k, s) in symbols.iter().enumerate() {
        for e in synthetic_ticks(need, bar_ns, k as u64 + 1, START_NS) {
            let _ = p.update(&Tick { symbol: s, event: e });
        }
        if !p.is_ready(s) {
            return Err(Error::Input(format!("benchmark symbol {s} did not fill its window")));
        }
    }
    Ok(())
}

/// One row of the table.
pub struct ModelFigures {
    pub model: String,
    pub update_ns: f64,
    /// (p50, p99) µs: medians over rounds of each round's percentiles (so are the others).
    pub predict: (f64, f64),
    pub bare: (f64, f64),
    /// Median over rounds of predict/bare (p50, p99).
    pub overhead: (f64, f64),
    pub python: Option<(f64, f64)>,
    /// Rust predict / Python (p50, p99), each with a 95 % interval from a bootstrap over chunks.
    pub vs_python: Option<(RatioCi, RatioCi)>,
    /// p99 of thread CPU time (µs): Rust predict, Python run (medians over rounds).
    pub cpu_p99: (f64, Option<f64>),
    pub throughput: Vec<(usize, f64)>,
    /// `huge_pages::describe` after this model was loaded (process-wide, so cumulative).
    pub huge_pages: String,
}

/// One model under benchmark: its predictor, the window all its calls read, its Python
/// reference and what its rounds measured so far.
struct Subject {
    label: String,
    p: PricePredictor,
    bar_ns: i64,
    update_ns: f64,
    window: Vec<f32>,
    python: Option<PythonReference>,
    out: crate::predictor::Prediction,
    /// Per round: [predict p50, p99, bare p50, p99, predict CPU p99].
    rounds: Vec<[f64; 5]>,
    /// Per round: [python p50, p99, CPU p99].
    python_rounds: Vec<[f64; 3]>,
    /// Rust predict wall times beside Python's, chunk by chunk, over the whole run.
    paired: PairedChunks,
    /// Per batch size: every timed `predict_batch` call (s).
    calls: Vec<Vec<f64>>,
}

impl Subject {
    /// Load `model`, time `update` (ns per tick, steady state), fill the batch-1 symbol's window
    /// and start the Python reference.
    fn new(model: &Path, o: &BenchOptions) -> Result<Self> {
        let mut p = PricePredictor::new(model, o.config.clone())?;
        let bar_ns = (p.spec().bar_seconds * 1e9).round() as i64;
        let ticks = synthetic_ticks(o.ticks, bar_ns, 7, START_NS);
        let _ = p.update(&Tick { symbol: "UPD", event: ticks[0] });
        // Median over chunks of 10k ticks: robust to the scheduler noise of a shared machine.
        let mut per_tick = Vec::new();
        for chunk in ticks[1..].chunks(10_000) {
            let start = Instant::now();
            for e in chunk {
                let _ = black_box(p.update(black_box(&Tick { symbol: "UPD", event: *e })));
            }
            per_tick.push(start.elapsed().as_secs_f64() * 1e9 / chunk.len() as f64);
        }
        let (update_ns, _) = percentiles(per_tick);
        warm(&mut p, &["SYM".to_string()], bar_ns)?;
        let (w, c) = (p.spec().window, p.spec().n_columns());
        // Same shape as the predictor's window; the cost of these graphs does not depend on values.
        let window = crate::contract::synthetic::synthetic_bars(&p.spec().bar_columns, w, 1, p.spec().bar_seconds, 1);
        // The Python reference (same model, window and session options) runs in a child process.
        let python = o.python.as_deref().and_then(|py| PythonReference::start(py, model, &window, w, c));
        let mut out = crate::predictor::Prediction::default();
        for _ in 0..3 {
            p.predict_into("SYM", &mut out)?;
        }
        Ok(Subject {
            label: model_label(model),
            p,
            bar_ns,
            update_ns,
            window,
            python,
            out,
            rounds: Vec::new(),
            python_rounds: Vec::new(),
            paired: PairedChunks::default(),
            calls: Vec::new(),
        })
    }

    /// One round: `calls` interleaved predict/bare pairs, every `CHUNK` of them beside
    /// `2·CHUNK` Python calls (alternately first); the round's percentiles and every chunk pair
    /// are kept.
    fn round(&mut self, calls: usize) -> Result<()> {
        let (w, c) = (self.p.spec().window, self.p.spec().n_columns());
        let shape = [1i64, w as i64, c as i64];
        let (mut pred, mut pred_cpu, mut bare) =
            (Vec::with_capacity(calls), Vec::with_capacity(calls), Vec::with_capacity(calls));
        let (mut python_wall, mut python_cpu) = (Vec::new(), Vec::new());
        let Subject { p, out, window, python, paired, .. } = self;
        // `n` Python calls' wall times; a reference that fails is dropped (its column: n/a).
        let mut python_chunk = |python: &mut Option<PythonReference>, n: usize| -> Option<Vec<f64>> {
            let times = python.as_mut()?.chunk(2 * n);
            if times.is_none() {
                *python = None;
            }
            let (wall, cpu) = times?;
            python_wall.extend_from_slice(&wall);
            python_cpu.extend(cpu);
            Some(wall)
        };
        for (k, chunk_start) in (0..calls).step_by(CHUNK).enumerate() {
            let n = CHUNK.min(calls - chunk_start);
            let mut python_walls = if k % 2 == 1 { python_chunk(python, n) } else { None };
            let chunk_from = pred.len();
            p.predict_into("SYM", out)?; // untimed: see CHUNK
            for _ in 0..n {
                let (wall, cpu) = timed(|| p.predict_into("SYM", out))?;
                pred.push(wall);
                pred_cpu.push(cpu);
                // The bare run: what `predict` did before bound tensors (a borrowed input
                // wrapped per call, named inputs, ONNX Runtime-allocated outputs), no window
                // copy and no decoding; with the same flush-to-zero flags as `predict`'s run.
                let (wall, _) = timed(|| {
                    let _flags = crate::flush_to_zero::Flags::flush_to_zero();
                    let tensor =
                        TensorRef::from_array_view((shape, &window[..])).map_err(|e| Error::ort("bench input", e))?;
                    let out = p
                        .session_mut()
                        .run(ort::inputs![INPUT_NAME => tensor])
                        .map_err(|e| Error::ort("bench run", e))?;
                    let probs =
                        out[PROBS_NAME].try_extract_tensor::<f32>().map_err(|e| Error::ort("bench probs", e))?;
                    let edges =
                        out[EDGES_NAME].try_extract_tensor::<f32>().map_err(|e| Error::ort("bench edges", e))?;
                    Ok((probs.1[0], edges.1[0]))
                })?;
                bare.push(wall);
            }
            if k % 2 == 0 {
                python_walls = python_chunk(python, n);
            }
            if let Some(walls) = python_walls {
                paired.push(pred[chunk_from..].to_vec(), walls);
            }
        }
        let (p50, p99) = percentiles(pred);
        let (b50, b99) = percentiles(bare);
        self.rounds.push([p50, p99, b50, b99, percentiles(pred_cpu).1]);
        if self.python.is_some() {
            let (y50, y99) = percentiles(python_wall);
            self.python_rounds.push([y50, y99, percentiles(python_cpu).1]);
        }
        Ok(())
    }

    fn figures(self, batches: &[usize], rounds: usize) -> ModelFigures {
        let stats = &self.rounds;
        // Medians over rounds: robust to the bursts of a shared machine, and paired round by
        // round with the other models (today's graph against the older one).
        let median_of = |k: usize| percentiles(stats.iter().map(|r| r[k]).collect()).0;
        let ratio_of = |a: usize, b: usize| percentiles(stats.iter().map(|r| r[a] / r[b]).collect()).0;
        let python_median = |k: usize| percentiles(self.python_rounds.iter().map(|r| r[k]).collect()).0;
        // A reference that failed mid-run has fewer rounds: no Python figures then.
        let complete = self.python_rounds.len() == rounds;
        // Median call time: robust to the scheduler noise of a shared machine.
        let throughput =
            batches.iter().zip(&self.calls).map(|(&n, calls)| (n, n as f64 / percentiles(calls.clone()).0)).collect();
        ModelFigures {
            model: self.label.clone(),
            update_ns: self.update_ns,
            predict: (median_of(0), median_of(1)),
            bare: (median_of(2), median_of(3)),
            overhead: (ratio_of(0, 2), ratio_of(1, 3)),
            python: complete.then(|| (python_median(0), python_median(1))),
            vs_python: complete.then(|| self.paired.ratios(0x5eed)).flatten(),
            cpu_p99: (median_of(4), complete.then(|| python_median(2))),
            throughput,
            huge_pages: crate::huge_pages::describe(self.p.huge_pages()),
        }
    }
}

/// Rounds of the batch-1 comparison (and of each throughput batch size): medians over rounds.
const ROUNDS: usize = 10;

/// Every model in the same rounds: round `r` runs each model's share of calls in turn, starting
/// at model `r mod n`, so a burst of load on a shared machine hits every model alike and no model
/// always runs first; the same for each throughput batch size. Ratios between models (today's
/// graph against an older one) are then as robust as the ratio against the Python reference.
pub fn bench_models(models: &[&Path], o: &BenchOptions) -> Result<Vec<ModelFigures>> {
    let mut subjects = Vec::with_capacity(models.len());
    for model in models {
        eprintln!("bench: loading {}", model.display());
        subjects.push(Subject::new(model, o)?);
    }
    let n = subjects.len();
    let per_round = (o.iters / ROUNDS).max(CHUNK);
    for r in 0..ROUNDS {
        eprintln!("bench: round {}/{ROUNDS}", r + 1);
        for j in 0..n {
            subjects[(r + j) % n].round(per_round)?;
        }
    }
    // Batched throughput: predict_batch over k ready symbols, one ONNX call each.
    for &k in &o.batches {
        let symbols: Vec<String> = (0..k).map(|i| format!("S{i}")).collect();
        for s in subjects.iter_mut() {
            warm(&mut s.p, &symbols, s.bar_ns)?;
        }
        let reps = (o.iters / k.max(1)).clamp(11, 400);
        let per_round = reps.div_ceil(ROUNDS).max(2);
        let mut calls = vec![Vec::with_capacity(per_round * ROUNDS); n];
        for r in 0..ROUNDS {
            for j in 0..n {
                let m = (r + j) % n;
                let p = &mut subjects[m].p;
                black_box(p.predict_batch(&symbols)?); // untimed: the other models ran
                for _ in 0..per_round {
                    let t = Instant::now();
                    black_box(p.predict_batch(&symbols)?);
                    calls[m].push(t.elapsed().as_secs_f64());
                }
            }
        }
        for (s, c) in subjects.iter_mut().zip(calls) {
            s.calls.push(c);
        }
    }
    Ok(subjects.into_iter().map(|s| s.figures(&o.batches, ROUNDS)).collect())
}

/// `dir/model.onnx` for run folders' generic file names, else the file name.
fn model_label(model: &Path) -> String {
    let file = model.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    match model.parent().and_then(|d| d.file_name()) {
        Some(dir) if file.starts_with("model.") => format!("{}/{file}", dir.to_string_lossy()),
        _ => file,
    }
}
