//! The ash ONNX contract v1 (docs/contract.md): the parsed model description and the validator.
//!
//! The checks and their codes mirror `src/ash/export/validate.py`: the runtime accepts exactly
//! the models the Python validator accepts. Shapes and metadata are read through ONNX Runtime in
//! both, so they agree on what a "dynamic" or "fixed" dimension is.

pub mod external;
mod metadata;
pub mod synthetic;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};
use serde_json::Value;

pub use metadata::check_metadata;

pub const INPUT_NAME: &str = "bars";
pub const PROBS_NAME: &str = "probs";
pub const EDGES_NAME: &str = "edges";
pub const OUTPUT_NAMES: [&str; 2] = [PROBS_NAME, EDGES_NAME];
pub const OUTER_EDGE_BPS: f32 = 10000.0;
pub const MIN_OPSET: u32 = 17;
pub const MAX_OPSET: u32 = 23;
pub const PROBS_SUM_TOLERANCE: f64 = 1e-4;
/// Batch sizes of the run checks (validate.py `RUN_BATCHES`).
pub const RUN_BATCHES: [usize; 2] = [1, 16];
/// Memory the run checks may need for their inputs and outputs (validate.py
/// `DEFAULT_MEMORY_BUDGET_BYTES`): a model declaring a window of 1e9 bars is refused, not allocated.
pub const DEFAULT_MEMORY_BUDGET: u64 = 256 << 20;
const FLOAT_BYTES: u128 = 4;

/// One way a model breaks the contract; `code` is stable and shared with Python.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub code: String,
    pub message: String,
}

impl Violation {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Violation { code: code.into(), message: message.into() }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// What a valid model declares about itself (the required metadata, parsed).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModelSpec {
    pub bar_columns: Vec<String>,
    pub bar_columns_version: i64,
    pub bar_seconds: f64,
    pub window: usize,
    pub horizons: Vec<f64>,
    pub n_buckets: usize,
    pub reference_price: String,
    pub timezone: String,
    pub gap_seconds: f64,
    pub gap_policy: String,
    pub experiment: Option<String>,
    /// The symbol whose bars fill the `ctx_*` columns (`ash.context_symbol`, optional).
    pub context_symbol: Option<String>,
}

impl ModelSpec {
    pub fn n_columns(&self) -> usize {
        self.bar_columns.len()
    }
    pub fn n_horizons(&self) -> usize {
        self.horizons.len()
    }

    fn from_metadata(meta: &HashMap<&'static str, Value>) -> Option<ModelSpec> {
        let s = |k: &str| meta.get(k).and_then(Value::as_str).map(str::to_string);
        let f = |k: &str| meta.get(k).and_then(Value::as_f64);
        let u = |k: &str| meta.get(k).and_then(Value::as_u64).and_then(|v| usize::try_from(v).ok());
        let strings = |k: &str| -> Option<Vec<String>> {
            meta.get(k)?.as_array()?.iter().map(|v| v.as_str().map(str::to_string)).collect()
        };
        Some(ModelSpec {
            bar_columns: strings("ash.bar_columns")?,
            bar_columns_version: meta.get("ash.bar_columns_version")?.as_i64()?,
            bar_seconds: f("ash.bar_seconds")?,
            window: u("ash.window")?,
            horizons: meta.get("ash.horizons")?.as_array()?.iter().map(Value::as_f64).collect::<Option<_>>()?,
            n_buckets: u("ash.n_buckets")?,
            reference_price: s("ash.reference_price")?,
            timezone: s("ash.timezone")?,
            gap_seconds: f("ash.gap_seconds")?,
            gap_policy: s("ash.gap_policy")?,
            experiment: s("ash.experiment"),
            context_symbol: s("ash.context_symbol"),
        })
    }
}

/// Read the custom metadata map through ONNX Runtime.
pub fn read_metadata(session: &Session) -> Result<HashMap<String, String>, String> {
    let meta = session.metadata().map_err(|e| e.to_string())?;
    let keys = meta.custom_keys().map_err(|e| e.to_string())?;
    Ok(keys.into_iter().filter_map(|k| meta.custom(&k).map(|v| (k, v))).collect())
}

/// Validate a loaded session: every violation found, or the parsed spec when there is none.
/// The session runs the checks at batch 1 and 16, so it must be a CPU session like the
/// validator's (1 intra-op thread). Declared sizes needing more than `memory_budget` bytes to
/// check are a violation, found before anything is allocated.
pub fn validate_session(session: &mut Session, memory_budget: u64) -> Result<ModelSpec, Vec<Violation>> {
    let mut violations = check_opset(session);
    let props = match read_metadata(session) {
        Ok(p) => p,
        Err(e) => return Err(vec![Violation::new("unloadable", format!("cannot read the model metadata: {e}"))]),
    };
    let (meta, meta_violations) = check_metadata(&props);
    violations.extend(meta_violations);
    violations.extend(check_io(session, &meta));
    violations.extend(check_budget(&meta, memory_budget));
    if !violations.is_empty() {
        return Err(violations);
    }
    let Some(spec) = ModelSpec::from_metadata(&meta) else {
        return Err(vec![Violation::new("unloadable", "metadata passed the checks but could not be parsed")]);
    };
    let run = check_run(session, &spec);
    if run.is_empty() {
        Ok(spec)
    } else {
        Err(run)
    }
}

/// JSON integer as the metadata checks read it: i64, or u64 saturated to i64::MAX.
fn int_value(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => n.as_i64().or(Some(i64::MAX)),
        _ => None,
    }
}

/// Bytes of the run checks' input and outputs at the largest run batch (validate.py
/// `required_bytes`), saturating.
pub fn required_bytes(window: u128, n_columns: u128, n_horizons: u128, n_buckets: u128) -> u128 {
    let per_window = window
        .saturating_mul(n_columns)
        .saturating_add(n_horizons.saturating_mul(n_buckets.saturating_mul(2).saturating_add(1)));
    FLOAT_BYTES.saturating_mul(RUN_BATCHES[RUN_BATCHES.len() - 1] as u128).saturating_mul(per_window)
}

fn check_budget(meta: &HashMap<&'static str, Value>, budget: u64) -> Vec<Violation> {
    let int = |k: &str| meta.get(k).and_then(int_value).and_then(|v| u128::try_from(v).ok());
    let len = |k: &str| meta.get(k).and_then(Value::as_array).map(|a| a.len() as u128);
    let (Some(window), Some(columns), Some(horizons), Some(buckets)) =
        (int("ash.window"), len("ash.bar_columns"), len("ash.horizons"), int("ash.n_buckets"))
    else {
        return vec![]; // already reported as missing or bad
    };
    let need = required_bytes(window, columns, horizons, buckets);
    if need <= u128::from(budget) {
        return vec![];
    }
    let batch = RUN_BATCHES[RUN_BATCHES.len() - 1];
    vec![Violation::new(
        "over-memory-budget",
        format!(
            "checking the model needs {need} bytes for batch {batch} (window {window} x {columns} columns in, \
             {horizons} horizons x {buckets} buckets out), over the validator's memory budget of {budget} bytes; \
             a model this large is almost certainly mis-declared (check ash.window and ash.n_buckets), or raise \
             the budget (--memory-budget-mb)"
        ),
    )]
}

/// The `external-data` violation: the contract is one self-contained file.
pub fn external_data(path: &Path, names: &[String]) -> Violation {
    let mut shown = names.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 5 {
        shown.push_str(&format!(" and {} more", names.len() - 5));
    }
    Violation::new(
        "external-data",
        format!(
            "{} keeps {} tensor(s) in external data files ({shown}); a contract model is one self-contained \
             file: save it with onnx.save_model(model, path, save_as_external_data=False)",
            path.display(),
            names.len()
        ),
    )
}

/// The `unloadable` violation for a path that is missing or that ONNX Runtime cannot load.
pub fn unloadable(path: &Path, reason: &str) -> Violation {
    if !path.is_file() {
        return Violation::new("unloadable", format!("{} does not exist or is not a file", path.display()));
    }
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let first = reason.lines().next().unwrap_or(reason);
    Violation::new(
        "unloadable",
        format!(
            "ONNX Runtime cannot load {} ({size} bytes): {}. Either the file is truncated, corrupt or not an \
             ONNX model (export it again), or it uses an operator or opset this ONNX Runtime does not support",
            path.display(),
            first.trim_end_matches('.')
        ),
    )
}

fn check_opset(session: &Session) -> Vec<Violation> {
    match session.opset_for_domain(ort::editor::ONNX_DOMAIN).or_else(|| session.opset_for_domain("ai.onnx")) {
        Some(v) if (MIN_OPSET..=MAX_OPSET).contains(&v) => vec![],
        Some(v) => vec![Violation::new(
            "unsupported-opset",
            format!("default-domain opset {v} is outside the supported range {MIN_OPSET}-{MAX_OPSET}"),
        )],
        None => vec![Violation::new("unsupported-opset", "the model declares no default-domain opset")],
    }
}

/// Expected fixed sizes of axes 1 and 2 per tensor; `None` when the metadata it comes from is bad.
fn expected_dims(meta: &HashMap<&'static str, Value>, name: &str) -> [(&'static str, Option<i64>, &'static str); 2] {
    let int = |k: &str| meta.get(k).and_then(int_value);
    let len = |k: &str| meta.get(k).and_then(Value::as_array).map(|a| a.len() as i64);
    let buckets = int("ash.n_buckets");
    match name {
        INPUT_NAME => {
            [("window", int("ash.window"), "ash.window"), ("columns", len("ash.bar_columns"), "len(ash.bar_columns)")]
        }
        PROBS_NAME => [("horizons", len("ash.horizons"), "len(ash.horizons)"), ("buckets", buckets, "ash.n_buckets")],
        _ => [
            ("horizons", len("ash.horizons"), "len(ash.horizons)"),
            ("buckets", buckets.map(|b| b.saturating_add(1)), "ash.n_buckets + 1"),
        ],
    }
}

fn check_io(session: &Session, meta: &HashMap<&'static str, Value>) -> Vec<Violation> {
    let mut found = Vec::new();
    let inputs: Vec<&str> = session.inputs().iter().map(|o| o.name()).collect();
    let outputs: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
    let list = |names: &[&str]| if names.is_empty() { "none".to_string() } else { names.join(", ") };
    if !inputs.contains(&INPUT_NAME) {
        found.push(Violation::new(
            format!("missing-input:{INPUT_NAME}"),
            format!("the graph has no input named {INPUT_NAME:?} (inputs: {})", list(&inputs)),
        ));
    }
    for name in inputs.iter().filter(|n| **n != INPUT_NAME) {
        found.push(Violation::new(
            format!("unexpected-input:{name}"),
            format!("graph input {name:?} is not part of the contract; the only input is {INPUT_NAME:?}"),
        ));
    }
    for name in OUTPUT_NAMES {
        if !outputs.contains(&name) {
            found.push(Violation::new(
                format!("missing-output:{name}"),
                format!("the graph has no output named {name:?} (outputs: {})", list(&outputs)),
            ));
        }
    }
    for name in outputs.iter().filter(|n| !OUTPUT_NAMES.contains(n)) {
        found.push(Violation::new(
            format!("unexpected-output:{name}"),
            format!("graph output {name:?} is not part of the contract; the outputs are probs, edges"),
        ));
    }
    for outlet in session.inputs().iter().chain(session.outputs()) {
        let name = outlet.name();
        if name == INPUT_NAME || OUTPUT_NAMES.contains(&name) {
            found.extend(check_tensor(name, outlet.dtype(), &expected_dims(meta, name)));
        }
    }
    found
}

fn check_tensor(name: &str, dtype: &ValueType, axes: &[(&str, Option<i64>, &str); 2]) -> Vec<Violation> {
    let mut found = Vec::new();
    let (ty, shape) = match dtype {
        ValueType::Tensor { ty, shape, .. } => (Some(*ty), Some(shape)),
        _ => (None, None),
    };
    if ty != Some(TensorElementType::Float32) {
        found.push(Violation::new(
            format!("dtype:{name}"),
            format!("{name} has type {dtype}, the contract needs tensor(float) (float32)"),
        ));
    }
    let dims: &[i64] = shape.map(|s| &s[..]).unwrap_or(&[]);
    if dims.len() != 3 {
        found.push(Violation::new(
            format!("rank:{name}"),
            format!("{name} has rank {} (shape {dims:?}); the contract needs rank 3", dims.len()),
        ));
        return found;
    }
    // ONNX Runtime reports a symbolic or unknown dimension as -1: that is "dynamic".
    if dims[0] >= 0 {
        found.push(Violation::new(
            format!("batch-not-dynamic:{name}"),
            format!(
                "{name} has a fixed batch dimension {}; dimension 0 must be dynamic (export with a dynamic 'batch' axis)",
                dims[0]
            ),
        ));
    }
    for ((axis, want, source), got) in axes.iter().zip(&dims[1..]) {
        let Some(want) = want else { continue };
        if got != want {
            let kind = if *got < 0 { "a dynamic".to_string() } else { format!("size {got}") };
            found.push(Violation::new(
                format!("dim:{name}.{axis}"),
                format!("{name} {axis} axis has {kind}; it must be the fixed size {want} ({source})"),
            ));
        }
    }
    found
}

fn check_run(session: &mut Session, spec: &ModelSpec) -> Vec<Violation> {
    let mut reported: Vec<Violation> = Vec::new();
    let mut report = |v: Violation| {
        if !reported.iter().any(|r| r.code == v.code) {
            reported.push(v);
        }
    };
    for batch in RUN_BATCHES {
        let bars = synthetic::synthetic_bars(&spec.bar_columns, spec.window, batch, spec.bar_seconds, batch as u64);
        let shape = [batch as i64, spec.window as i64, spec.n_columns() as i64];
        let result = TensorRef::from_array_view((shape, &bars[..]))
            .and_then(|input| session.run(ort::inputs![INPUT_NAME => input]))
            .and_then(|out| {
                let (ps, probs) = out[PROBS_NAME].try_extract_tensor::<f32>()?;
                let (es, edges) = out[EDGES_NAME].try_extract_tensor::<f32>()?;
                Ok(((ps.to_vec(), probs.to_vec()), (es.to_vec(), edges.to_vec())))
            });
        match result {
            Err(e) => report(Violation::new(
                "run-failed",
                format!("ONNX Runtime failed on valid bars at batch {batch}: {}", first_line(&e.to_string())),
            )),
            Ok(((ps, probs), (es, edges))) => {
                for v in check_outputs(spec, batch, (&ps, &probs), (&es, &edges)) {
                    report(v);
                }
            }
        }
    }
    reported
}

/// Run the model once at batch 1 on synthetic bars; `Err` carries ONNX Runtime's message.
pub fn smoke_run(session: &mut Session, spec: &ModelSpec) -> Result<(), String> {
    let bars = synthetic::synthetic_bars(&spec.bar_columns, spec.window, 1, spec.bar_seconds, 1);
    let shape = [1i64, spec.window as i64, spec.n_columns() as i64];
    let input = TensorRef::from_array_view((shape, &bars[..])).map_err(|e| e.to_string())?;
    session.run(ort::inputs![INPUT_NAME => input]).map(|_| ()).map_err(|e| e.to_string())
}

fn first_line(s: &str) -> &str {
    s.trim().lines().next().unwrap_or("")
}

type Out<'a> = (&'a [i64], &'a [f32]);

/// The output checks of validate.py `_check_outputs`, on one run's outputs.
pub fn check_outputs(spec: &ModelSpec, batch: usize, probs: Out<'_>, edges: Out<'_>) -> Vec<Violation> {
    let (nh, k) = (spec.n_horizons() as i64, spec.n_buckets as i64);
    let mut found = Vec::new();
    for (name, got, want) in
        [(PROBS_NAME, probs.0, [batch as i64, nh, k]), (EDGES_NAME, edges.0, [batch as i64, nh, k + 1])]
    {
        if got != want {
            found.push(Violation::new(
                format!("output-shape:{name}"),
                format!("at batch size {batch} {name} has shape {got:?}, expected {want:?}"),
            ));
        }
    }
    if !found.is_empty() {
        return found;
    }
    let where_ = |row: usize| {
        let (b, h) = (row / nh as usize, row % nh as usize);
        format!("batch size {batch}, window {b}, horizon {h} ({}s)", spec.horizons[h])
    };
    found.extend(check_probs(probs.1, spec.n_buckets, &where_));
    found.extend(check_edges(edges.1, spec.n_buckets + 1, &where_));
    found
}

fn check_probs(probs: &[f32], k: usize, where_: &dyn Fn(usize) -> String) -> Vec<Violation> {
    let bad = probs.iter().filter(|p| !p.is_finite()).count();
    if let Some(i) = probs.iter().position(|p| !p.is_finite()) {
        return vec![Violation::new(
            "probs-not-finite",
            format!("probs has {bad} non-finite values, e.g. {} at {}, bucket {}", probs[i], where_(i / k), i % k),
        )];
    }
    let mut found = Vec::new();
    let out = |p: &f32| *p < 0.0 || *p > 1.0;
    if let Some(i) = probs.iter().position(out) {
        found.push(Violation::new(
            "probs-out-of-range",
            format!(
                "probs has {} values outside [0, 1], e.g. {} at {}, bucket {}",
                probs.iter().filter(|p| out(p)).count(),
                probs[i],
                where_(i / k),
                i % k
            ),
        ));
    }
    let sums: Vec<f64> = probs.chunks(k).map(|row| row.iter().map(|p| f64::from(*p)).sum()).collect();
    let errors: Vec<f64> = sums.iter().map(|s| (s - 1.0).abs()).collect();
    let n_bad = errors.iter().filter(|e| **e > PROBS_SUM_TOLERANCE).count();
    if n_bad > 0 {
        let worst = (0..errors.len()).fold(0, |w, i| if errors[i] > errors[w] { i } else { w });
        found.push(Violation::new(
            "probs-not-normalized",
            format!(
                "probs rows must sum to 1 within {PROBS_SUM_TOLERANCE}; {n_bad} rows do not, worst sums to {} at {}",
                sums[worst],
                where_(worst)
            ),
        ));
    }
    found
}

fn check_edges(edges: &[f32], k1: usize, where_: &dyn Fn(usize) -> String) -> Vec<Violation> {
    if let Some(i) = edges.iter().position(|e| !e.is_finite()) {
        return vec![Violation::new(
            "edges-not-finite",
            format!(
                "edges has {} non-finite values, e.g. {} at {}, edge {}; use the sentinels ±{OUTER_EDGE_BPS} for \
                 open-ended buckets",
                edges.iter().filter(|e| !e.is_finite()).count(),
                edges[i],
                where_(i / k1),
                i % k1
            ),
        )];
    }
    let mut found = Vec::new();
    let bad_step =
        edges.chunks(k1).enumerate().find_map(|(r, row)| row.windows(2).position(|w| w[1] <= w[0]).map(|j| (r, j)));
    if let Some((r, j)) = bad_step {
        let row = &edges[r * k1..(r + 1) * k1];
        found.push(Violation::new(
            "edges-not-increasing",
            format!(
                "edges must be strictly increasing; at {} edge {j} = {} and edge {} = {}",
                where_(r),
                row[j],
                j + 1,
                row[j + 1]
            ),
        ));
    }
    let bad_sentinel = edges.chunks(k1).position(|row| row[0] != -OUTER_EDGE_BPS || row[k1 - 1] != OUTER_EDGE_BPS);
    if let Some(r) = bad_sentinel {
        let row = &edges[r * k1..(r + 1) * k1];
        found.push(Violation::new(
            "edges-sentinel",
            format!(
                "outer edges must be exactly -{OUTER_EDGE_BPS} and +{OUTER_EDGE_BPS}; at {} they are {} and {}",
                where_(r),
                row[0],
                row[k1 - 1]
            ),
        ));
    }
    found
}
