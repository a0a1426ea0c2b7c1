//! hearth-cpu: the CPU engine. Weights stay in their GGUF blocks; activations are
//! quantized to 16 bits per 32 values ([`act`], where it says why not 8 as llama.cpp) for
//! integer dot products, so results differ from the f32 reference by that rounding only
//! (the tolerance is stated in the tests). Kernels: AVX2 chosen at run time on x86-64, a portable path
//! everywhere ([`kernel`]). Ops run on a [`Pool`] of threads; each output is computed by
//! one thread, so results are bit-identical whatever the thread count. The forward pass
//! is the architecture's own block (`hearth_model::arch`), run through [`Backend`].
//!
//! [`Backend`]: hearth_model::arch::Backend

pub mod act;
pub mod attention;
mod error;
pub mod kernel;
mod matrix;
mod model;
pub mod pool;
pub mod quant;
#[cfg(not(target_arch = "wasm32"))]
pub mod roofline;
mod stream;

pub use error::{CpuError, Result};
pub use matrix::QMatrix;
pub use model::{CpuModel, CpuSession};
pub use pool::Pool;
pub use stream::{CpuLoader, kv_bytes};
