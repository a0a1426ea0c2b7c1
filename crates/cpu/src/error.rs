//! Errors of the CPU engine.

/// What can go wrong loading or running a model on the CPU.
#[derive(Debug, thiserror::Error)]
pub enum CpuError {
    #[error(transparent)]
    Model(#[from] hearth_model::ModelError),
    #[error("gguf: {0}")]
    Gguf(#[from] hearth_gguf::GgufError),
    #[error("{0}")]
    Shape(String),
    #[error("{0}")]
    Request(String),
    #[error("{0}")]
    TooLarge(String),
}

/// Results of the CPU engine.
pub type Result<T, E = CpuError> = std::result::Result<T, E>;

impl From<CpuError> for hearth_model::ModelError {
    fn from(e: CpuError) -> Self {
        match e {
            CpuError::Model(m) => m,
            e => hearth_model::ModelError::Backend(e.to_string()),
        }
    }
}
