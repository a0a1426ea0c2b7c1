//! Helpers shared by hearth-model's integration tests: fixture and real-model paths.
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The bytes of `tests/fixtures/NAME`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = root().join("tests/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// Path of the real model, SmolLM2-135M-Instruct (Q4_1). Missing is a failure, never a skip.
pub fn real_model_path() -> PathBuf {
    let path = root().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        path.exists(),
        "{} is missing: run scripts/fetch-model",
        path.display()
    );
    path
}

/// The bytes of the real model.
pub fn real_model() -> Vec<u8> {
    std::fs::read(real_model_path()).expect("read the real model")
}
