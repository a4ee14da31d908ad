//! Shared helpers for the integration tests: the ONNX Runtime library and the contract fixtures
//! (written by `python -m ash.export.fixtures`, nothing committed).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    let venv = repo_root().join(".venv/bin/python");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// `ORT_DYLIB_PATH`, else what `python -m ash.runtime_lib` prints. Panics with instructions.
pub fn ort_lib() -> PathBuf {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        let out = Command::new(python()).args(["-m", "ash.runtime_lib"]).current_dir(repo_root()).output();
        match out {
            Ok(o) if o.status.success() => PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()),
            _ => panic!(
                "set ORT_DYLIB_PATH to libonnxruntime.so.* (scripts/test.sh does: ORT_DYLIB_PATH=$(python -m ash.runtime_lib)); \
                 run scripts/setup.sh first"
            ),
        }
    })
    .clone()
}

/// The contract fixtures directory: `ASH_CONTRACT_FIXTURES` if set, else generated once into
/// target/contract-fixtures (regenerated when src/ash/export changes).
pub fn fixtures() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(p) = std::env::var_os("ASH_CONTRACT_FIXTURES").filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/contract-fixtures");
        let manifest = dir.join("manifest.json");
        let newest_source = std::fs::read_dir(repo_root().join("src/ash/export"))
            .map(|it| it.filter_map(|e| e.ok()?.metadata().ok()?.modified().ok()).max())
            .ok()
            .flatten();
        let fresh = manifest.metadata().and_then(|m| m.modified()).ok().zip(newest_source).is_some_and(|(m, s)| m >= s);
        if !fresh {
            let tmp = dir.with_extension(format!("tmp{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            let status = Command::new(python())
                .args(["-m", "ash.export.fixtures"])
                .arg(&tmp)
                .current_dir(repo_root())
                .status()
                .expect("run python -m ash.export.fixtures (run scripts/setup.sh first)");
            assert!(status.success(), "python -m ash.export.fixtures failed");
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::rename(&tmp, &dir).expect("move the fixtures into place");
        }
        dir
    })
    .clone()
}

pub fn manifest() -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest.json is JSON")
}
