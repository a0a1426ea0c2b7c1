//! hearth-gguf: reads GGUF files (header, metadata, tensor table) and dequantizes ggml
//! block formats on the CPU. Pure: works on byte slices, does no I/O, and answers
//! malformed input with a [`GgufError`], never a panic. The formats are described in
//! `docs/gguf.md`.

mod cursor;
mod dequant;
mod error;
mod file;
mod gpu_layout;
mod metadata;
pub mod split;
mod types;
mod writer;

pub use dequant::{dequantize, dequantize_vec, k4_scale_min};
pub use error::{GgufError, Result};
pub use file::{DEFAULT_ALIGNMENT, Gguf, MAGIC, MAX_DIMS, TensorInfo};
pub use gpu_layout::GpuLayout;
pub use metadata::{Metadata, Value};
pub use types::GgmlType;
pub use writer::GgufWriter;
