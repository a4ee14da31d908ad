//! `ash-serve`: serve any contract-v1 model over JSON lines (TCP or stdin), validate models,
//! evaluate raw windows, and benchmark. See docs/runtime.md.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use ash_runtime::bench::{bench_model, render, BenchOptions};
use ash_runtime::contract::DEFAULT_MEMORY_BUDGET;
use ash_runtime::model::validate_model_within;
use ash_runtime::protocol::PredictionDetail;
use ash_runtime::server::{serve, EmitMode, Engine, Limits, ServeOptions, Source};
use ash_runtime::{Device, PredictorConfig, PricePredictor, SessionConfig};

const USAGE: &str = "\
ash-serve: the ash runtime (docs/runtime.md)

USAGE:
  ash-serve [serve] MODEL.onnx [--stdin | --listen ADDR] [options]
  ash-serve validate MODEL.onnx [--ort-lib PATH] [--memory-budget-mb N]
  ash-serve eval MODEL.onnx WINDOWS.npy [--ort-lib PATH]
  ash-serve bench MODEL.onnx... [--iters N] [--ticks N] [--batches 1,8,64,512] [--python PY]

COMMON OPTIONS:
  --ort-lib PATH      libonnxruntime.so.* (default: $ORT_DYLIB_PATH; `python -m ash.runtime_lib` prints it)
  --threads N         intra-op threads (default 1)
  --cuda [ID]         run on the CUDA execution provider (error if it cannot start; no CPU fallback)
  --memory-budget-mb N   models whose declared sizes need more to check are refused (default 256)

SERVE OPTIONS:
  --listen ADDR       TCP address (default 127.0.0.1:7878; port 0 picks a free one)
  --stdin             read JSON lines from stdin, write to stdout
  --port-file PATH    write the bound address to PATH once listening
  --symbols A,B,...   accept only these symbols (others: rejected as unknown_symbol)
  --session HH:MM-HH:MM   local trading window; events outside are rejected (outside_session)
  --max-symbols N     most symbols tracked (default 10000; more: rejected as too_many_symbols)
  --max-symbol-bytes N   longest symbol name (default 64; longer: symbol_too_long)
  --emit bar|request  predict on every finished bar (default) or only on {\"type\":\"predict\"}
  --quantiles Q,...   quantile levels (default 0.05,0.25,0.5,0.75,0.95)
  --log-every SECS    latency/counter log period on stderr (default 10, 0 = off)
  --no-reject-replies do not answer rejected lines (they are still counted and logged)
  --no-finish-at-eof  at stdin EOF, do not finish the open bars
  --emit-bars         also write every finished bar as {\"type\":\"bar\",...} (debugging, parity)
  --summary-only      predictions carry the summaries only (no per-bucket probs/edges)

SERVE BOUNDS (docs/runtime.md, \"Bounds\"):
  --max-predict-symbols N  most distinct symbols per predict request (default 256; predict_too_large)
  --max-batch N          most windows per ONNX Runtime call; larger predictions are split (default 64)
  --client-queue-mib N   unsent replies per TCP client before it is dropped as not reading (default 16)
  --input-queue-kib N    unprocessed input per TCP client before its socket is not read (default 1024)
  --max-connections N    simultaneous TCP clients; more are refused with an error line (default 64)
  --max-clock-skew SECS|off  ticks/clocks further ahead of the wall clock: future_timestamp (default 300)
";

struct Args {
    rest: Vec<String>,
}

impl Args {
    fn flag(&mut self, name: &str) -> bool {
        let before = self.rest.len();
        self.rest.retain(|a| a != name);
        before != self.rest.len()
    }
    fn value(&mut self, name: &str) -> Result<Option<String>, String> {
        let Some(i) = self.rest.iter().position(|a| a == name) else { return Ok(None) };
        if i + 1 >= self.rest.len() {
            return Err(format!("{name} needs a value"));
        }
        let v = self.rest.remove(i + 1);
        self.rest.remove(i);
        Ok(Some(v))
    }
    fn optional_value(&mut self, name: &str) -> Option<Option<String>> {
        let i = self.rest.iter().position(|a| a == name)?;
        self.rest.remove(i);
        if i < self.rest.len() && !self.rest[i].starts_with("--") && self.rest[i].parse::<i32>().is_ok() {
            return Some(Some(self.rest.remove(i)));
        }
        Some(None)
    }
    fn parsed<T: std::str::FromStr>(&mut self, name: &str) -> Result<Option<T>, String> {
        self.value(name)?.map(|v| v.parse::<T>().map_err(|_| format!("{name}: cannot parse {v:?}"))).transpose()
    }
}

fn list<T: std::str::FromStr>(v: &str, name: &str) -> Result<Vec<T>, String> {
    v.split(',').map(|x| x.trim().parse::<T>().map_err(|_| format!("{name}: cannot parse {x:?}"))).collect()
}

fn predictor_config(args: &mut Args) -> Result<PredictorConfig, String> {
    let mut config = PredictorConfig { ort_lib: args.value("--ort-lib")?.map(PathBuf::from), ..Default::default() };
    let threads = args.parsed::<usize>("--threads")?.unwrap_or(1);
    let device = match args.optional_value("--cuda") {
        None => Device::Cpu,
        Some(id) => Device::Cuda(id.map(|v| v.parse::<i32>().unwrap_or(0)).unwrap_or(0)),
    };
    config.session = SessionConfig { intra_threads: threads, device };
    if let Some(s) = args.value("--symbols")? {
        config.symbols = Some(s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect());
    }
    config.session_window = args.value("--session")?;
    config.memory_budget = memory_budget(args)?;
    if let Some(n) = args.parsed::<usize>("--max-symbols")? {
        config.max_symbols = n;
    }
    if let Some(n) = args.parsed::<usize>("--max-symbol-bytes")? {
        if n == 0 {
            return Err("--max-symbol-bytes must be at least 1".into());
        }
        config.max_symbol_bytes = n;
    }
    if let Some(q) = args.value("--quantiles")? {
        config.quantiles = list(&q, "--quantiles")?;
    }
    Ok(config)
}

fn limits(args: &mut Args) -> Result<Limits, String> {
    let mut l = Limits::default();
    if let Some(n) = args.parsed::<usize>("--max-predict-symbols")? {
        l.max_predict_symbols = n;
    }
    if let Some(n) = args.parsed::<usize>("--max-batch")? {
        l.max_batch = n;
    }
    if let Some(n) = args.parsed::<usize>("--client-queue-mib")? {
        l.client_queue_bytes = n.saturating_mul(1 << 20);
    }
    if let Some(n) = args.parsed::<usize>("--input-queue-kib")? {
        l.input_queue_bytes = n.saturating_mul(1 << 10);
    }
    if let Some(n) = args.parsed::<usize>("--max-connections")? {
        l.max_connections = n;
    }
    if let Some(v) = args.value("--max-clock-skew")? {
        l.max_clock_skew_s = match v.as_str() {
            "off" => None,
            s => Some(s.parse::<f64>().map_err(|_| format!("--max-clock-skew: cannot parse {s:?}"))?),
        };
    }
    l.validate()?;
    Ok(l)
}

fn memory_budget(args: &mut Args) -> Result<u64, String> {
    match args.parsed::<f64>("--memory-budget-mb")? {
        None => Ok(DEFAULT_MEMORY_BUDGET),
        Some(mb) if mb.is_finite() && mb > 0.0 => Ok((mb * (1u64 << 20) as f64) as u64),
        Some(mb) => Err(format!("--memory-budget-mb must be a positive number, got {mb}")),
    }
}

fn no_extra(args: &Args) -> Result<(), String> {
    match args.rest.iter().find(|a| a.starts_with("--")) {
        Some(a) => Err(format!("unknown option {a}")),
        None => Ok(()),
    }
}

fn cmd_serve(mut args: Args) -> Result<ExitCode, String> {
    let stdin = args.flag("--stdin");
    let listen = args.value("--listen")?.unwrap_or_else(|| "127.0.0.1:7878".into());
    let port_file = args.value("--port-file")?.map(PathBuf::from);
    let mut options = ServeOptions::default();
    if let Some(e) = args.value("--emit")? {
        options.emit = match e.as_str() {
            "bar" => EmitMode::Bar,
            "request" => EmitMode::Request,
            other => return Err(format!("--emit must be bar or request, got {other:?}")),
        };
    }
    if let Some(s) = args.parsed::<f64>("--log-every")? {
        options.log_every = s;
    }
    options.reply_rejects = !args.flag("--no-reject-replies");
    options.finish_at_eof = !args.flag("--no-finish-at-eof");
    options.emit_bars = args.flag("--emit-bars");
    if args.flag("--summary-only") {
        options.detail = PredictionDetail::Summary;
    }
    options.limits = limits(&mut args)?;
    let mut config = predictor_config(&mut args)?;
    config.max_batch = options.limits.max_batch;
    no_extra(&args)?;
    let [model] = args.rest.as_slice() else { return Err("serve needs exactly one MODEL.onnx".into()) };
    let predictor = PricePredictor::new(model, config).map_err(|e| e.to_string())?;
    let spec = predictor.spec();
    eprintln!(
        "ash-serve: serving {model} (window {}, {} columns, horizons {:?} s, {} buckets, bars {} s, gap policy {})",
        spec.window,
        spec.n_columns(),
        spec.horizons,
        spec.n_buckets,
        spec.bar_seconds,
        spec.gap_policy
    );
    let source = if stdin {
        Source::Stdin
    } else {
        let listener = TcpListener::bind(&listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        if let Some(path) = port_file {
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            std::fs::write(&path, addr.to_string()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        Source::Tcp(listener)
    };
    let mut engine = Engine::new(predictor, options);
    serve(&mut engine, source).map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_validate(mut args: Args) -> Result<ExitCode, String> {
    let lib = args.value("--ort-lib")?.map(PathBuf::from);
    let budget = memory_budget(&mut args)?;
    no_extra(&args)?;
    let [model] = args.rest.as_slice() else { return Err("validate needs exactly one MODEL.onnx".into()) };
    let verdict = validate_model_within(model.as_ref(), lib.as_deref(), budget).map_err(|e| e.to_string())?;
    let (valid, body) = match verdict {
        Ok(spec) => (true, serde_json::json!({"model": model, "valid": true, "violations": [], "spec": spec})),
        Err(v) => (false, serde_json::json!({"model": model, "valid": false, "violations": v})),
    };
    println!("{body}");
    Ok(if valid { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

fn cmd_eval(mut args: Args) -> Result<ExitCode, String> {
    let config = predictor_config(&mut args)?;
    no_extra(&args)?;
    let [model, windows] = args.rest.as_slice() else { return Err("eval needs MODEL.onnx WINDOWS.npy".into()) };
    let mut p = PricePredictor::new(model, config).map_err(|e| e.to_string())?;
    let (shape, data) = ash_runtime::npy::read_f32(windows.as_ref())?;
    let n = shape.first().copied().unwrap_or(0);
    let (probs, edges) = p.run_raw(&data, n).map_err(|e| e.to_string())?;
    let spec = p.spec();
    println!(
        "{}",
        serde_json::json!({"shape_probs": [n, spec.n_horizons(), spec.n_buckets], "probs": probs,
                           "shape_edges": [n, spec.n_horizons(), spec.n_buckets + 1], "edges": edges})
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_bench(mut args: Args) -> Result<ExitCode, String> {
    let iters = args.parsed::<usize>("--iters")?.unwrap_or(2000);
    let ticks = args.parsed::<usize>("--ticks")?.unwrap_or(1_000_000);
    let batches = match args.value("--batches")? {
        Some(b) => list(&b, "--batches")?,
        None => vec![1, 8, 64, 512],
    };
    let python = args.value("--python")?.map(PathBuf::from);
    let config = predictor_config(&mut args)?;
    no_extra(&args)?;
    if args.rest.is_empty() {
        return Err("bench needs at least one MODEL.onnx".into());
    }
    let options = BenchOptions { iters: iters.max(10), ticks: ticks.max(2), batches, config, python };
    let mut rows = Vec::new();
    for model in &args.rest {
        eprintln!("bench: {model}");
        rows.push(bench_model(model.as_ref(), &options).map_err(|e| format!("{model}: {e}"))?);
    }
    print!("{}", render(&rows, &options));
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() || argv.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return if argv.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS };
    }
    let command = match argv[0].as_str() {
        "serve" | "validate" | "eval" | "bench" => argv.remove(0),
        _ => "serve".to_string(),
    };
    let args = Args { rest: argv };
    let result = match command.as_str() {
        "validate" => cmd_validate(args),
        "eval" => cmd_eval(args),
        "bench" => cmd_bench(args),
        _ => cmd_serve(args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("ash-serve: error: {message}");
            ExitCode::FAILURE
        }
    }
}
