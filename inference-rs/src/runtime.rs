//! Loading ONNX Runtime from the Python wheel's shared library, and creating sessions.
//!
//! `ort` is built with `load-dynamic`: nothing is linked or downloaded at build time. The library
//! is the `libonnxruntime.so.*` inside the project's installed `onnxruntime(-gpu)` package, found
//! through `--ort-lib PATH` or `ORT_DYLIB_PATH` (`python -m ash.runtime_lib` prints it).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;

use crate::error::{Error, Result};

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
        .map_err(|e| Error::ort(ctx("setting the log level"), e))?;
    if let Device::Cuda(device_id) = config.device {
        let cuda = ort::ep::CUDA::default().with_device_id(device_id).build().error_on_failure();
        builder = builder.with_execution_providers([cuda]).map_err(|e| Error::CudaUnavailable(e.to_string()))?;
        return builder.commit_from_file(model).map_err(|e| Error::CudaUnavailable(e.to_string()));
    }
    builder.commit_from_file(model).map_err(|e| Error::ort(ctx("loading the model"), e))
}
