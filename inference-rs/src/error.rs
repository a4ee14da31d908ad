//! Errors of the runtime. Every message says what failed, where, and what to do about it.

use std::path::PathBuf;

use crate::contract::Violation;

/// Anything that stops a model from loading or a prediction from running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot find the ONNX Runtime library: {0}. Pass --ort-lib PATH or set ORT_DYLIB_PATH to the \
         libonnxruntime.so.* inside the Python onnxruntime package (`python -m ash.runtime_lib` prints it)"
    )]
    OrtLibNotFound(String),
    #[error("cannot load the ONNX Runtime library {path}: {reason}")]
    OrtLibLoad { path: PathBuf, reason: String },
    #[error("ONNX Runtime error while {context}: {source}")]
    Ort {
        context: String,
        #[source]
        source: ort::Error,
    },
    #[error("{path} violates the ash ONNX contract v1 (see docs/contract.md):\n{}", format_violations(.violations))]
    Contract { path: PathBuf, violations: Vec<Violation> },
    #[error(
        "the CUDA execution provider could not start ({0}); refusing to fall back to CPU silently. \
         Check that onnxruntime-gpu, CUDA and cuDNN are installed and a GPU is visible, or serve on CPU"
    )]
    CudaUnavailable(String),
    #[error("model cannot be served: {0}")]
    Unservable(String),
    #[error("unknown symbol {0:?}: it is not in the configured symbol list")]
    UnknownSymbol(String),
    #[error("symbol {symbol:?} has {have} of the {need} bars the model's window needs")]
    NotReady { symbol: String, have: usize, need: usize },
    #[error("{0}")]
    Input(String),
}

fn format_violations(violations: &[Violation]) -> String {
    violations.iter().map(|v| format!("  - {v}")).collect::<Vec<_>>().join("\n")
}

impl Error {
    pub(crate) fn ort(context: impl Into<String>, source: impl Into<ort::Error>) -> Self {
        Error::Ort { context: context.into(), source: source.into() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
