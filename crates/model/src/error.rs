//! The error type of hearth-model.

use hearth_gguf::GgufError;

/// Why a model, tokenizer, template or generation step failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The GGUF container or one of its values is malformed.
    #[error(transparent)]
    Gguf(#[from] GgufError),
    /// The model's architecture or hyper-parameters are not supported.
    #[error("unsupported model: {0}")]
    Unsupported(String),
    /// The GGUF metadata is inconsistent (e.g. a tensor of the wrong shape).
    #[error("invalid model: {0}")]
    Invalid(String),
    /// The tokenizer could not be built or could not encode or decode.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The chat template could not be parsed or rendered.
    #[error("chat template: {0}")]
    Template(String),
    /// A chat template went over a limit of its render (steps, output size, nesting; see
    /// `chat_template`): a hostile or broken template, refused instead of hanging.
    #[error("chat template over its limits: {0}")]
    TemplateLimit(String),
    /// A backend (the CPU or GPU engine) failed to run the model.
    #[error("{0}")]
    Backend(String),
    /// A request the model cannot serve (e.g. a prompt longer than the context).
    #[error("{0}")]
    Request(String),
}

/// Result with a [`ModelError`].
pub type Result<T, E = ModelError> = std::result::Result<T, E>;
