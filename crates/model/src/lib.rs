//! hearth-model: the architectures (`arch`) read from GGUF metadata, a plain f32 CPU reference
//! forward pass (the oracle of every GPU test), the tokenizer, chat templates and sampler.

pub mod arch;
pub mod chat_template;
mod config;
pub mod constraint;
pub mod conversation;
mod error;
mod forward;
pub mod gbnf;
mod generate;
pub mod kv_snapshot;
pub mod logprobs;
pub mod ops;
pub mod sampler;
pub mod stop;
pub mod tokenizer;
pub mod tools;
mod weights;

pub use config::Config;
pub use error::{ModelError, Result};
pub use forward::{KvCache, Model};
pub use generate::{Guide, StopRule, generate};
pub use weights::{Matrix, Weights, tensor_info};
