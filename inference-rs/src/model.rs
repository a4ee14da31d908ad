//! Loading a contract-v1 model: validate it exactly as the Python validator does, then open the
//! serving session.

use std::path::Path;

use ort::session::Session;

use crate::contract::external::external_tensors;
use crate::contract::{external_data, unloadable, validate_session, ModelSpec, Violation, DEFAULT_MEMORY_BUDGET};
use crate::error::{Error, Result};
use crate::runtime::{create_session, environment, Device, SessionConfig};

/// Violations found before ONNX Runtime opens the file: missing, or external data (which ONNX
/// Runtime would quietly read from the model's folder).
fn pre_load_violations(model: &Path) -> Option<Vec<Violation>> {
    if !model.is_file() {
        return Some(vec![unloadable(model, "")]);
    }
    let bytes = std::fs::read(model).ok()?;
    match external_tensors(&bytes) {
        Some(names) if !names.is_empty() => Some(vec![external_data(model, &names)]),
        _ => None,
    }
}

/// The validator's verdict on a file (default memory budget): the spec when valid, every
/// violation otherwise.
pub fn validate_model(model: &Path, ort_lib: Option<&Path>) -> Result<std::result::Result<ModelSpec, Vec<Violation>>> {
    validate_model_within(model, ort_lib, DEFAULT_MEMORY_BUDGET)
}

/// [`validate_model`] with a memory budget for the run checks (bytes).
pub fn validate_model_within(
    model: &Path,
    ort_lib: Option<&Path>,
    memory_budget: u64,
) -> Result<std::result::Result<ModelSpec, Vec<Violation>>> {
    let env = environment(ort_lib)?;
    if let Some(violations) = pre_load_violations(model) {
        return Ok(Err(violations));
    }
    let mut session = match create_session(&env, model, &SessionConfig::default()) {
        Ok(s) => s,
        Err(e) => {
            let reason = match &e {
                Error::Ort { source, .. } => source.to_string(),
                other => other.to_string(),
            };
            return Ok(Err(vec![unloadable(model, &reason)]));
        }
    };
    Ok(validate_session(&mut session, memory_budget))
}

/// A validated model and its serving session.
pub struct LoadedModel {
    pub spec: ModelSpec,
    pub session: Session,
    /// Bytes of this process's anonymous memory (the weights among them) collapsed onto 2 MiB
    /// pages after loading, or why none could be (`huge_pages`); CUDA sessions: `Ok(0)`.
    pub huge_pages: std::result::Result<usize, String>,
}

/// Validate `model` on a CPU session (1 intra-op thread, as the validator), then open the
/// serving session with `config` (reusing the validation session when the config is the same).
/// A contract violation, or a CUDA provider that cannot start, is an error.
pub fn load_model(
    model: &Path,
    ort_lib: Option<&Path>,
    config: &SessionConfig,
    memory_budget: u64,
) -> Result<LoadedModel> {
    let env = environment(ort_lib)?;
    if let Some(violations) = pre_load_violations(model) {
        return Err(Error::Contract { path: model.to_path_buf(), violations });
    }
    let validator_config = SessionConfig::default();
    let mut session = create_session(&env, model, &validator_config).map_err(|e| match e {
        Error::Ort { source, .. } => {
            Error::Contract { path: model.to_path_buf(), violations: vec![unloadable(model, &source.to_string())] }
        }
        other => other,
    })?;
    let spec = validate_session(&mut session, memory_budget)
        .map_err(|violations| Error::Contract { path: model.to_path_buf(), violations })?;
    if *config != validator_config {
        session = create_session(&env, model, config)?;
        if let Device::Cuda(_) = config.device {
            // Fail now, not on the first tick, if the provider cannot actually run the graph.
            crate::contract::smoke_run(&mut session, &spec).map_err(Error::CudaUnavailable)?;
        }
    }
    let huge_pages = match config.device {
        Device::Cpu => crate::huge_pages::collapse_anonymous_memory().map_err(|e| e.to_string()),
        Device::Cuda(_) => Ok(0),
    };
    Ok(LoadedModel { spec, session, huge_pages })
}
