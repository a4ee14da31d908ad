//! `ash-serve`'s command line (clap): one struct per subcommand, the same option names and
//! defaults as before clap. Defaults live in the library (`PredictorConfig::default`,
//! `Limits::default`, `ServeOptions::default`); an option left out keeps them, so the help text
//! states them in words rather than duplicating the values here.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  ash-serve serve MODEL.onnx --listen 127.0.0.1:0 --port-file port.txt --symbols SPY,QQQ
  ash-serve MODEL.onnx --stdin --threads=2 < ticks.jsonl
  ash-serve validate MODEL.onnx
  ash-serve eval MODEL.onnx WINDOWS.npy
  ash-serve bench MODEL.onnx... --iters 500 --batches 1,64

`ash-serve SUBCOMMAND --help` lists a subcommand's options.";

#[derive(Parser, Debug)]
#[command(
    name = "ash-serve",
    version,
    about = "ash-serve: the ash runtime (docs/runtime.md)",
    long_about = "ash-serve: the ash runtime (docs/runtime.md).\n\nServes any contract-v1 ONNX model \
                  over JSON lines, validates models, evaluates raw windows and benchmarks. Without a \
                  subcommand, `ash-serve MODEL.onnx ...` means `ash-serve serve MODEL.onnx ...`.",
    after_help = EXAMPLES,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve MODEL over JSON lines: ticks in, predictions out (TCP or stdin)
    Serve(ServeArgs),
    /// Check MODEL against the ONNX contract v1; prints JSON, exits 2 on a violation
    Validate(ValidateArgs),
    /// Run MODEL on raw windows from a .npy file; prints the probabilities and edges as JSON
    Eval(EvalArgs),
    /// Benchmark models: per-call latency by batch size, and tick throughput
    Bench(BenchArgs),
}

/// How the model runs and which input the predictor accepts (serve, eval, bench).
#[derive(Args, Debug, Clone)]
pub struct PredictorArgs {
    /// libonnxruntime.so.* (default: $ORT_DYLIB_PATH; `python -m ash.runtime_lib` prints it)
    #[arg(long, value_name = "PATH")]
    pub ort_lib: Option<PathBuf>,
    /// ONNX Runtime intra-op threads
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
    /// Run on the CUDA execution provider, device ID (default 0); an error if it cannot start,
    /// no CPU fallback
    #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "0")]
    pub cuda: Option<i32>,
    /// Models whose declared sizes need more memory than this to check are refused [default: 256]
    #[arg(long, value_name = "N")]
    pub memory_budget_mb: Option<f64>,
    /// Accept only these symbols (others: rejected as unknown_symbol)
    #[arg(long, value_name = "A,B,...")]
    pub symbols: Option<String>,
    /// Local trading window; events outside are rejected (outside_session)
    #[arg(long, value_name = "HH:MM-HH:MM")]
    pub session: Option<String>,
    /// Most symbols tracked (more: rejected as too_many_symbols) [default: 10000]
    #[arg(long, value_name = "N")]
    pub max_symbols: Option<usize>,
    /// Longest symbol name in bytes (longer: symbol_too_long) [default: 64]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_symbol_bytes: Option<u64>,
    /// Quantile levels of the summaries [default: 0.05,0.25,0.5,0.75,0.95]
    #[arg(long, value_name = "Q,...", value_delimiter = ',')]
    pub quantiles: Option<Vec<f64>>,
}

/// What a server bounds (docs/runtime.md, "Bounds").
#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Most distinct symbols per predict request (more: predict_too_large) [default: 256]
    #[arg(long, value_name = "N")]
    pub max_predict_symbols: Option<usize>,
    /// Most windows per ONNX Runtime call; larger predictions are split [default: 64]
    #[arg(long, value_name = "N")]
    pub max_batch: Option<usize>,
    /// Unsent replies per TCP client before it is dropped as not reading [default: 16]
    #[arg(long, value_name = "N")]
    pub client_queue_mib: Option<usize>,
    /// Unprocessed input per TCP client before its socket is not read [default: 1024]
    #[arg(long, value_name = "N")]
    pub input_queue_kib: Option<usize>,
    /// Simultaneous TCP clients; more are refused with an error line [default: 64]
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Ticks/clocks further ahead of the wall clock are rejected (future_timestamp); "off"
    /// disables the check [default: 300]
    #[arg(long, value_name = "SECS|off")]
    pub max_clock_skew: Option<String>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    /// Predict on every finished bar
    Bar,
    /// Predict only on {"type":"predict"}
    Request,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The contract-v1 model
    #[arg(value_name = "MODEL.onnx")]
    pub model: String,
    /// Read JSON lines from stdin, write to stdout
    #[arg(long, conflicts_with_all = ["listen", "port_file"])]
    pub stdin: bool,
    /// TCP address (port 0 picks a free one)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7878")]
    pub listen: String,
    /// Write the bound address to PATH once listening
    #[arg(long, value_name = "PATH")]
    pub port_file: Option<PathBuf>,
    /// When to predict
    #[arg(long, value_enum, default_value_t = Emit::Bar)]
    pub emit: Emit,
    /// Latency/counter log period on stderr in seconds (0 = off) [default: 10]
    #[arg(long, value_name = "SECS")]
    pub log_every: Option<f64>,
    /// Do not answer rejected lines (they are still counted and logged)
    #[arg(long)]
    pub no_reject_replies: bool,
    /// At stdin EOF, do not finish the open bars
    #[arg(long)]
    pub no_finish_at_eof: bool,
    /// Also write every finished bar as {"type":"bar",...} (debugging, parity)
    #[arg(long)]
    pub emit_bars: bool,
    /// Predictions carry the summaries only (no per-bucket probs/edges)
    #[arg(long)]
    pub summary_only: bool,
    #[command(flatten)]
    pub predictor: PredictorArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The model to check
    #[arg(value_name = "MODEL.onnx")]
    pub model: String,
    /// libonnxruntime.so.* (default: $ORT_DYLIB_PATH)
    #[arg(long, value_name = "PATH")]
    pub ort_lib: Option<PathBuf>,
    /// Models whose declared sizes need more memory than this to check are refused [default: 256]
    #[arg(long, value_name = "N")]
    pub memory_budget_mb: Option<f64>,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The model to run
    #[arg(value_name = "MODEL.onnx")]
    pub model: String,
    /// float32 windows, shape (n, window, columns)
    #[arg(value_name = "WINDOWS.npy")]
    pub windows: String,
    #[command(flatten)]
    pub predictor: PredictorArgs,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// One or more models, benchmarked in turn
    #[arg(value_name = "MODEL.onnx", required = true)]
    pub models: Vec<String>,
    /// Timed calls per batch size (at least 10)
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub iters: usize,
    /// Synthetic ticks for the throughput row (at least 2)
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub ticks: usize,
    /// Batch sizes timed
    #[arg(long, value_name = "N,...", value_delimiter = ',', default_values_t = [1, 8, 64, 512])]
    pub batches: Vec<usize>,
    /// Also time the same model through Python's ONNX Runtime with this interpreter
    #[arg(long, value_name = "PY")]
    pub python: Option<PathBuf>,
    #[command(flatten)]
    pub predictor: PredictorArgs,
}

const SUBCOMMANDS: [&str; 5] = ["serve", "validate", "eval", "bench", "help"];

/// The command line as clap should see it: `serve` inserted when the first argument is not a
/// subcommand or a top-level flag (`ash-serve MODEL.onnx --stdin` keeps working), and a bare
/// `--cuda` followed by something other than a device id written as `--cuda=0`, so that
/// `--cuda MODEL.onnx` does not take the model path for a device id.
pub fn normalize(argv: Vec<OsString>) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::with_capacity(argv.len() + 1);
    let mut rest = argv.into_iter();
    out.extend(rest.next()); // the program name
    let rest: Vec<OsString> = rest.collect();
    if let Some(first) = rest.first().and_then(|a| a.to_str()) {
        let top_level_flag = matches!(first, "-h" | "--help" | "-V" | "--version");
        if !SUBCOMMANDS.contains(&first) && !top_level_flag {
            out.push("serve".into());
        }
    }
    for (i, arg) in rest.iter().enumerate() {
        let next_is_id = rest.get(i + 1).and_then(|a| a.to_str()).is_some_and(|a| a.parse::<i32>().is_ok());
        if arg == "--cuda" && !next_is_id {
            out.push("--cuda=0".into());
        } else {
            out.push(arg.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(normalize(args.iter().map(OsString::from).collect()))
    }

    #[test]
    fn serve_is_the_default_subcommand() {
        let Ok(Cli { command: Command::Serve(s) }) = parse(&["ash-serve", "m.onnx", "--stdin"]) else {
            panic!("not parsed as serve")
        };
        assert!(s.stdin);
        assert_eq!(s.model, "m.onnx");
        assert_eq!(s.listen, "127.0.0.1:7878");
        assert_eq!(s.predictor.threads, 1);
    }

    #[test]
    fn equals_syntax_and_lists() {
        let Ok(Cli { command: Command::Serve(s) }) =
            parse(&["ash-serve", "serve", "m.onnx", "--threads=2", "--quantiles=0.1,0.9", "--symbols", "A,B"])
        else {
            panic!("not parsed")
        };
        assert_eq!(s.predictor.threads, 2);
        assert_eq!(s.predictor.quantiles, Some(vec![0.1, 0.9]));
        assert_eq!(s.predictor.symbols.as_deref(), Some("A,B"));
    }

    #[test]
    fn cuda_takes_an_optional_device_id() {
        let id = |args: &[&str]| match parse(args) {
            Ok(Cli { command: Command::Serve(s) }) => s.predictor.cuda,
            _ => panic!("not parsed: {args:?}"),
        };
        assert_eq!(id(&["ash-serve", "m.onnx", "--cuda"]), Some(0));
        assert_eq!(id(&["ash-serve", "m.onnx", "--cuda", "1"]), Some(1));
        assert_eq!(id(&["ash-serve", "--cuda", "m.onnx"]), Some(0));
        assert_eq!(id(&["ash-serve", "m.onnx"]), None);
    }

    #[test]
    fn unknown_options_and_conflicts_are_errors() {
        assert!(parse(&["ash-serve", "serve", "m.onnx", "--nope"]).is_err());
        assert!(parse(&["ash-serve", "serve", "m.onnx", "--stdin", "--listen", "x:1"]).is_err());
        assert!(parse(&["ash-serve", "serve", "m.onnx", "--emit", "sometimes"]).is_err());
        assert!(parse(&["ash-serve", "serve", "m.onnx", "--max-symbol-bytes", "0"]).is_err());
        assert!(parse(&["ash-serve", "eval", "m.onnx"]).is_err());
        assert!(parse(&["ash-serve", "bench"]).is_err());
    }

    #[test]
    fn bench_defaults() {
        let Ok(Cli { command: Command::Bench(b) }) = parse(&["ash-serve", "bench", "a.onnx", "b.onnx"]) else {
            panic!("not parsed")
        };
        assert_eq!(b.models, ["a.onnx", "b.onnx"]);
        assert_eq!((b.iters, b.ticks), (2000, 1_000_000));
        assert_eq!(b.batches, [1, 8, 64, 512]);
    }

    #[test]
    fn the_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
