//! hearth-model: the Llama architecture read from GGUF metadata, a plain f32 CPU reference
//! forward pass (the oracle of every GPU test), the tokenizer, chat templates and sampler.

pub mod chat_template;
mod error;
pub mod sampler;
pub mod tokenizer;

pub use error::{ModelError, Result};
