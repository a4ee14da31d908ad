//! Loading ONNX Runtime from the Python wheel's shared library, creating sessions, and the
//! pre-bound tensors a prediction runs through.
//!
//! `ort` is built with `load-dynamic`: nothing is linked or downloaded at build time. The library
//! is the `libonnxruntime.so.*` inside the project's installed `onnxruntime(-gpu)` package, found
//! through `--ort-lib PATH` or `ORT_DYLIB_PATH` (`python -m ash.runtime_lib` prints it).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::memory::Allocator;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{HasSelectedOutputs, OutputSelector, RunOptions, Session};
use ort::value::Tensor;

use crate::contract::{EDGES_NAME, PROBS_NAME};
use crate::error::{Error, Result};
use crate::flush_to_zero::Flags;

/// Environment variable naming the ONNX Runtime shared library (the one `ort` itself reads).
pub const ORT_LIB_ENV: &str = "ORT_DYLIB_PATH";

/// Where inference runs. CUDA never falls back to CPU silently: if it cannot start, loading fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    #[default]
    Cpu,
    Cuda(i32),
}

/// How sessions are created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Intra-op threads (1 = the latency configuration the tuner measures).
    pub intra_threads: usize,
    pub device: Device,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig { intra_threads: 1, device: Device::Cpu }
    }
}

static ENVIRONMENT: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();

/// The library path: an explicit path first, then `ORT_DYLIB_PATH`. Never guesses.
pub fn resolve_ort_lib(explicit: Option<&Path>) -> Result<PathBuf> {
    let (path, origin) = match explicit {
        Some(p) => (p.to_path_buf(), "--ort-lib"),
        None => match std::env::var_os(ORT_LIB_ENV) {
            Some(v) if !v.is_empty() => (PathBuf::from(v), ORT_LIB_ENV),
            _ => return Err(Error::OrtLibNotFound(format!("neither --ort-lib nor {ORT_LIB_ENV} is set"))),
        },
    };
    if !path.is_file() {
        return Err(Error::OrtLibNotFound(format!("{origin} = {} is not a file", path.display())));
    }
    Ok(path)
}

/// Load ONNX Runtime once per process and return the shared environment. The first call decides
/// the library; later calls return the same environment whatever path they pass.
pub fn environment(explicit: Option<&Path>) -> Result<Environment> {
    if let Some(done) = ENVIRONMENT.get() {
        return done.clone().map_err(|reason| Error::OrtLibLoad { path: PathBuf::from("(first load)"), reason });
    }
    let path = resolve_ort_lib(explicit)?;
    let loaded = ENVIRONMENT.get_or_init(|| {
        let builder = ort::init_from(&path).map_err(|e| e.to_string())?;
        builder.with_name("ash").with_telemetry(false).build().map_err(|e| e.to_string())
    });
    loaded.clone().map_err(|reason| Error::OrtLibLoad { path, reason })
}

/// A session for `model` with the given configuration: sequential execution, one inter-op
/// thread, full graph optimisation (as the Python validator and latency probe create them).
pub fn create_session(env: &Environment, model: &Path, config: &SessionConfig) -> Result<Session> {
    // ONNX Runtime also sets the flush-to-zero flags on this thread while loading: put them back.
    let _flags = Flags::preserve();
    let ctx = |what: &str| format!("{what} for {}", model.display());
    let mut builder = Session::builder(env)
        .map_err(|e| Error::ort(ctx("creating session options"), e))?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| Error::ort(ctx("setting the optimisation level"), e))?
        .with_intra_threads(config.intra_threads.max(1))
        .map_err(|e| Error::ort(ctx("setting intra-op threads"), e))?
        .with_inter_threads(1)
        .map_err(|e| Error::ort(ctx("setting inter-op threads"), e))?
        .with_parallel_execution(false)
        .map_err(|e| Error::ort(ctx("setting sequential execution"), e))?
        .with_log_level(ort::logging::LogLevel::Error)
        .map_err(|e| Error::ort(ctx("setting the log level"), e))?
        // Subnormals flushed to zero on ONNX Runtime's pool threads; on the calling thread
        // `flush_to_zero::Flags` does it around each run (see there). Python's defaults do not.
        .with_flush_to_zero()
        .map_err(|e| Error::ort(ctx("flushing subnormals to zero"), e))?;
    if let Device::Cuda(device_id) = config.device {
        let cuda = ort::ep::CUDA::default().with_device_id(device_id).build().error_on_failure();
        builder = builder.with_execution_providers([cuda]).map_err(|e| Error::CudaUnavailable(e.to_string()))?;
        return builder.commit_from_file(model).map_err(|e| Error::CudaUnavailable(e.to_string()));
    }
    builder.commit_from_file(model).map_err(|e| Error::ort(ctx("loading the model"), e))
}

/// One model call's tensors for a fixed batch size, allocated once and reused: windows are
/// written straight into the input tensor, and ONNX Runtime writes `probs` and `edges` into
/// preallocated output tensors. A run through it allocates nothing on the Rust side (no input
/// `Vec`, no `TensorRef`, no name map: the contract has exactly one input, passed by position)
/// and ONNX Runtime allocates no output tensor, where `Session::run` with `inputs![name => view]`
/// did all of that per call.
pub struct BoundRun {
    batch: usize,
    input: Tensor<f32>,
    options: RunOptions<HasSelectedOutputs>,
}

impl BoundRun {
    /// Tensors for `batch` windows of `window` bars × `columns`, and outputs of `horizons` ×
    /// `buckets` (`edges`: `buckets + 1`), the shapes the contract fixes.
    pub fn new(batch: usize, window: usize, columns: usize, horizons: usize, buckets: usize) -> Result<Self> {
        let batch = batch.max(1);
        let zeros = vec![0f32; batch * window * columns].into_boxed_slice();
        let input = Tensor::from_array(([batch, window, columns], zeros))
            .map_err(|e| Error::ort(format!("allocating the input tensor for batch {batch}"), e))?;
        let allocator = Allocator::default();
        let probs = Tensor::<f32>::new(&allocator, [batch, horizons, buckets])
            .map_err(|e| Error::ort("allocating the probs output", e))?;
        let edges = Tensor::<f32>::new(&allocator, [batch, horizons, buckets + 1])
            .map_err(|e| Error::ort("allocating the edges output", e))?;
        let selector = OutputSelector::default().preallocate(PROBS_NAME, probs).preallocate(EDGES_NAME, edges);
        let options = RunOptions::new().map_err(|e| Error::ort("creating run options", e))?.with_outputs(selector);
        Ok(BoundRun { batch, input, options })
    }

    /// The batch size the tensors were made for.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The input tensor's data, `[batch, window, columns]` row-major, to be filled before `run`.
    pub fn input_mut(&mut self) -> Result<&mut [f32]> {
        let (_, data) = self.input.try_extract_tensor_mut().map_err(|e| Error::ort("writing the input tensor", e))?;
        Ok(data)
    }

    /// One `Session::run` on the bound tensors; `probs` and `edges` are copied into the reused
    /// vectors (their capacity is kept, so this allocates once per buffer size).
    pub fn run(&mut self, session: &mut Session, probs: &mut Vec<f32>, edges: &mut Vec<f32>) -> Result<()> {
        let flags = Flags::flush_to_zero();
        let outputs = session
            .run_with_options(ort::inputs![&self.input], &self.options)
            .map_err(|e| Error::ort("running the model", e))?;
        drop(flags);
        let read = |name: &str, into: &mut Vec<f32>| -> Result<()> {
            let value = outputs.get(name).ok_or_else(|| Error::Input(format!("the model returned no {name:?}")))?;
            let (_, data) = value.try_extract_tensor::<f32>().map_err(|e| Error::ort(format!("reading {name}"), e))?;
            into.clear();
            into.extend_from_slice(data);
            Ok(())
        };
        read(PROBS_NAME, probs)?;
        read(EDGES_NAME, edges)
    }
}
