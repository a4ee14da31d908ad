//! Loading a contract-v1 model: validate it exactly as the Python validator does, then open the
//! serving session.

use std::path::Path;

use ort::session::Session;

use crate::contract::{unloadable, validate_session, ModelSpec, Violation};
use crate::error::{Error, Result};
use crate::runtime::{create_session, environment, Device, SessionConfig};

/// The validator's verdict on a file: the spec when valid, every violation otherwise.
pub fn validate_model(model: &Path, ort_lib: Option<&Path>) -> Result<std::result::Result<ModelSpec, Vec<Violation>>> {
    let env = environment(ort_lib)?;
    if !model.is_file() {
        return Ok(Err(vec![unloadable(model, "")]));
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
    Ok(validate_session(&mut session))
}

/// A validated model and its serving session.
pub struct LoadedModel {
    pub spec: ModelSpec,
    pub session: Session,
}

/// Validate `model` on a CPU session (1 intra-op thread, as the validator), then open the
/// serving session with `config` (reusing the validation session when the config is the same).
/// A contract violation, or a CUDA provider that cannot start, is an error.
pub fn load_model(model: &Path, ort_lib: Option<&Path>, config: &SessionConfig) -> Result<LoadedModel> {
    let env = environment(ort_lib)?;
    if !model.is_file() {
        return Err(Error::Contract { path: model.to_path_buf(), violations: vec![unloadable(model, "")] });
    }
    let validator_config = SessionConfig::default();
    let mut session = create_session(&env, model, &validator_config).map_err(|e| match e {
        Error::Ort { source, .. } => {
            Error::Contract { path: model.to_path_buf(), violations: vec![unloadable(model, &source.to_string())] }
        }
        other => other,
    })?;
    let spec = validate_session(&mut session)
        .map_err(|violations| Error::Contract { path: model.to_path_buf(), violations })?;
    if *config != validator_config {
        session = create_session(&env, model, config)?;
        if let Device::Cuda(_) = config.device {
            // Fail now, not on the first tick, if the provider cannot actually run the graph.
            crate::contract::smoke_run(&mut session, &spec).map_err(Error::CudaUnavailable)?;
        }
    }
    Ok(LoadedModel { spec, session })
}
