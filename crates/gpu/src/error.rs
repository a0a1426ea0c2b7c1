//! The error type of hearth-gpu.

/// Why a GPU operation failed.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No GPU adapter: WebGPU is missing or no driver (e.g. no Vulkan ICD) is installed.
    #[error(
        "no GPU adapter found ({0}); install a Vulkan driver (e.g. mesa-vulkan-drivers) or use --backend cpu"
    )]
    NoAdapter(String),
    /// The adapter refused the device (limits or features).
    #[error("cannot open the GPU device: {0}")]
    Device(String),
    /// The GPU reported an error (a kernel the browser's compiler refused, a bad binding).
    #[error("GPU error: {0}")]
    Validation(String),
    /// The device was lost (driver reset, GPU process crash); reopen and reload.
    #[error("the GPU device was lost: {0}")]
    DeviceLost(String),
    /// A shape or size that a kernel cannot take.
    #[error("{0}")]
    Shape(String),
    /// The model does not fit the adapter's limits.
    #[error("does not fit the GPU: {0}")]
    TooLarge(String),
    /// Reading a buffer back failed, or the device was lost.
    #[error("GPU readback failed: {0}")]
    Readback(String),
    /// A GGUF problem found while uploading weights.
    #[error(transparent)]
    Gguf(#[from] hearth_gguf::GgufError),
    /// A model problem (config, tokenizer, sampler settings).
    #[error(transparent)]
    Model(#[from] hearth_model::ModelError),
}

/// Result with a [`GpuError`].
pub type Result<T, E = GpuError> = std::result::Result<T, E>;

impl From<GpuError> for hearth_model::ModelError {
    fn from(e: GpuError) -> Self {
        match e {
            GpuError::Model(m) => m,
            e => hearth_model::ModelError::Backend(e.to_string()),
        }
    }
}
