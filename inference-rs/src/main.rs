//! `ash-serve`: serve any contract-v1 model over JSON lines (TCP or stdin), validate models,
//! evaluate raw windows, and benchmark. See docs/runtime.md; `ash-serve SUBCOMMAND --help` lists
//! each subcommand's options (parsed by clap in `args.rs`).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod args;

use std::net::TcpListener;
use std::process::ExitCode;

use clap::Parser;

use args::{BenchArgs, Cli, Command, Emit, EvalArgs, LimitArgs, PredictorArgs, ServeArgs, ValidateArgs};
use ash_runtime::bench::{bench_models, render, BenchOptions};
use ash_runtime::contract::DEFAULT_MEMORY_BUDGET;
use ash_runtime::model::validate_model_within;
use ash_runtime::protocol::PredictionDetail;
use ash_runtime::server::{serve, EmitMode, Engine, Limits, ServeOptions, Source};
use ash_runtime::{Device, PredictorConfig, PricePredictor, SessionConfig};

fn predictor_config(args: PredictorArgs) -> Result<PredictorConfig, String> {
    let mut config = PredictorConfig { ort_lib: args.ort_lib, ..Default::default() };
    let device = args.cuda.map_or(Device::Cpu, Device::Cuda);
    config.session = SessionConfig { intra_threads: args.threads, device };
    if let Some(s) = args.symbols {
        config.symbols = Some(s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect());
    }
    config.session_window = args.session;
    config.memory_budget = memory_budget(args.memory_budget_mb)?;
    if let Some(n) = args.max_symbols {
        config.max_symbols = n;
    }
    if let Some(n) = args.max_symbol_bytes {
        config.max_symbol_bytes = usize::try_from(n).map_err(|_| format!("--max-symbol-bytes: {n} is too large"))?;
    }
    if let Some(q) = args.quantiles {
        config.quantiles = q;
    }
    Ok(config)
}

fn limits(args: LimitArgs) -> Result<Limits, String> {
    let mut l = Limits::default();
    if let Some(n) = args.max_predict_symbols {
        l.max_predict_symbols = n;
    }
    if let Some(n) = args.max_batch {
        l.max_batch = n;
    }
    if let Some(n) = args.client_queue_mib {
        l.client_queue_bytes = n.saturating_mul(1 << 20);
    }
    if let Some(n) = args.input_queue_kib {
        l.input_queue_bytes = n.saturating_mul(1 << 10);
    }
    if let Some(n) = args.max_connections {
        l.max_connections = n;
    }
    if let Some(v) = args.max_clock_skew {
        l.max_clock_skew_s = match v.as_str() {
            "off" => None,
            s => Some(s.parse::<f64>().map_err(|_| format!("--max-clock-skew: cannot parse {s:?}"))?),
        };
    }
    l.validate()?;
    Ok(l)
}

fn memory_budget(mb: Option<f64>) -> Result<u64, String> {
    match mb {
        None => Ok(DEFAULT_MEMORY_BUDGET),
        Some(mb) if mb.is_finite() && mb > 0.0 => Ok((mb * (1u64 << 20) as f64) as u64),
        Some(mb) => Err(format!("--memory-budget-mb must be a positive number, got {mb}")),
    }
}

fn cmd_serve(args: ServeArgs) -> Result<ExitCode, String> {
    let defaults = ServeOptions::default();
    let options = ServeOptions {
        emit: match args.emit {
            Emit::Bar => EmitMode::Bar,
            Emit::Request => EmitMode::Request,
        },
        log_every: args.log_every.unwrap_or(defaults.log_every),
        reply_rejects: !args.no_reject_replies,
        finish_at_eof: !args.no_finish_at_eof,
        emit_bars: args.emit_bars,
        detail: if args.summary_only { PredictionDetail::Summary } else { PredictionDetail::Full },
        limits: limits(args.limits)?,
    };
    let mut config = predictor_config(args.predictor)?;
    config.max_batch = options.limits.max_batch;
    let model = &args.model;
    let predictor = PricePredictor::new(model, config).map_err(|e| e.to_string())?;
    let spec = predictor.spec();
    eprintln!(
        "ash-serve: serving {model} (window {}, {} columns, horizons {:?} s, {} buckets, bars {} s, gap policy {}; {})",
        spec.window,
        spec.n_columns(),
        spec.horizons,
        spec.n_buckets,
        spec.bar_seconds,
        spec.gap_policy,
        ash_runtime::huge_pages::describe(predictor.huge_pages())
    );
    let source = if args.stdin {
        Source::Stdin
    } else {
        let listen = &args.listen;
        let listener = TcpListener::bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        if let Some(path) = args.port_file {
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            std::fs::write(&path, addr.to_string()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        Source::Tcp(listener)
    };
    let mut engine = Engine::new(predictor, options);
    serve(&mut engine, source).map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_validate(args: ValidateArgs) -> Result<ExitCode, String> {
    let budget = memory_budget(args.memory_budget_mb)?;
    let model = &args.model;
    let verdict = validate_model_within(model.as_ref(), args.ort_lib.as_deref(), budget).map_err(|e| e.to_string())?;
    let (valid, body) = match verdict {
        Ok(spec) => (true, serde_json::json!({"model": model, "valid": true, "violations": [], "spec": spec})),
        Err(v) => (false, serde_json::json!({"model": model, "valid": false, "violations": v})),
    };
    println!("{body}");
    Ok(if valid { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

fn cmd_eval(args: EvalArgs) -> Result<ExitCode, String> {
    let config = predictor_config(args.predictor)?;
    let (model, windows) = (&args.model, &args.windows);
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

fn cmd_bench(args: BenchArgs) -> Result<ExitCode, String> {
    let config = predictor_config(args.predictor)?;
    let options = BenchOptions {
        iters: args.iters.max(10),
        ticks: args.ticks.max(2),
        batches: args.batches,
        config,
        python: args.python,
    };
    let models: Vec<&std::path::Path> = args.models.iter().map(|m| m.as_ref()).collect();
    let rows = bench_models(&models, &options).map_err(|e| format!("bench: {e}"))?;
    print!("{}", render(&rows, &options));
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(args::normalize(std::env::args_os().collect()));
    let result = match cli.command {
        Command::Serve(a) => cmd_serve(a),
        Command::Validate(a) => cmd_validate(a),
        Command::Eval(a) => cmd_eval(a),
        Command::Bench(a) => cmd_bench(a),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("ash-serve: error: {message}");
            ExitCode::FAILURE
        }
    }
}
