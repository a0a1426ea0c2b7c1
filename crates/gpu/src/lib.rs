//! hearth-gpu: the Llama forward pass on the GPU through `wgpu`, with hand-written WGSL
//! kernels from `shaders/` (one kernel per file; the weight format is a WGSL include from
//! `shaders/formats/`). The same code runs natively (Vulkan, Metal, DX12) and in the
//! browser (WebGPU). Every kernel has a CPU twin in `hearth_model::ops` or `hearth_gguf`.

mod context;
mod error;
mod fuse;
pub mod kernels;
mod model;
mod record;
#[cfg(not(target_arch = "wasm32"))]
pub mod roofline;
mod shader;
mod stream;
mod tensor;
mod warm;
#[cfg(target_arch = "wasm32")]
mod web_subgroups;
mod weights;

pub use context::{Gpu, PipelineStats};
pub use error::{GpuError, Result};
pub use hearth_protocol::adapter::is_software_adapter;
pub use model::{GpuModel, Session};
pub use shader::{FORMATS, Kernel};
pub use stream::StreamLoader;
pub use tensor::{GpuTensor, GpuWeights, WeightPart};
pub use warm::warm_pipelines;
pub use weights::{FileBytes, GpuModelWeights, TensorSource};
