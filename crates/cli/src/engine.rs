//! The two backends behind one face: the CPU reference and the GPU engine.

use clap::ValueEnum;
use hearth_gguf::Gguf;
use hearth_gpu::kernels::KvType;
use hearth_gpu::{FileBytes, Gpu, GpuModel, Session};
use hearth_model::sampler::Sampler;
use hearth_model::{Model, StopRule, generate};

/// Where the forward pass runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// WGSL kernels through wgpu (Vulkan, Metal or DX12).
    Gpu,
    /// The f32 reference implementation on the CPU.
    Cpu,
}

/// How the GPU's KV cache holds keys and values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kv {
    /// f16 where the adapter has shader-f16, else f32.
    Auto,
    /// f32: exact, twice the memory.
    F32,
    /// f16: half the memory and reads, values rounded to f16.
    F16,
}

impl Kv {
    /// Opens the GPU with this KV cache type.
    pub fn gpu(self) -> Result<Gpu, String> {
        let mut gpu = Gpu::new_blocking().map_err(|e| e.to_string())?;
        match self {
            Kv::Auto => {}
            Kv::F32 => gpu.kv_type = KvType::F32,
            Kv::F16 => gpu.kv_type = KvType::F16,
        }
        Ok(gpu)
    }
}

/// Prompt tokens the GPU processes per batch.
pub const N_BATCH: usize = 256;

/// A loaded model on one backend.
pub enum Engine {
    Cpu(Box<Model>),
    Gpu(Box<GpuModel>),
}

impl Engine {
    /// Loads the model of `gguf` (whose whole file is `bytes`) on `backend` (with a KV
    /// cache of type `kv` on the GPU).
    pub fn load(backend: Backend, kv: Kv, gguf: &Gguf, bytes: &[u8]) -> Result<Engine, String> {
        match backend {
            Backend::Cpu => Ok(Engine::Cpu(Box::new(
                Model::from_gguf(gguf, bytes).map_err(|e| e.to_string())?,
            ))),
            Backend::Gpu => {
                let model = GpuModel::load(kv.gpu()?, gguf, &FileBytes { gguf, file: bytes })
                    .map_err(|e| e.to_string())?;
                Ok(Engine::Gpu(Box::new(model)))
            }
        }
    }

    /// What runs the model, for --verbose.
    pub fn describe(&self) -> String {
        match self {
            Engine::Cpu(_) => "CPU reference (f32)".into(),
            Engine::Gpu(m) => format!(
                "GPU: {}, {:?} KV cache",
                m.gpu.adapter_name(),
                m.gpu.kv_type
            ),
        }
    }

    /// Generates after `prompt` in a fresh context of `n_ctx` positions.
    pub fn generate(
        &self,
        prompt: &[u32],
        sampler: &mut Sampler,
        stop: &StopRule,
        n_ctx: usize,
        on_token: impl FnMut(u32) -> hearth_model::Result<bool>,
    ) -> Result<Vec<u32>, String> {
        match self {
            Engine::Cpu(model) => {
                let mut cache = model.new_cache(n_ctx);
                generate(
                    prompt,
                    sampler,
                    stop,
                    |t| model.forward_last(t, &mut cache),
                    on_token,
                )
                .map_err(|e| e.to_string())
            }
            Engine::Gpu(model) => {
                let mut session = Session::new(model, n_ctx, N_BATCH).map_err(|e| e.to_string())?;
                pollster::block_on(session.generate(prompt, sampler, stop, on_token))
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Logits of every position of `ids`: (ids.len(), n_vocab), row-major.
    pub fn logits(&self, ids: &[u32]) -> Result<Vec<f32>, String> {
        match self {
            Engine::Cpu(model) => {
                let mut cache = model.new_cache(ids.len());
                model.forward(ids, &mut cache).map_err(|e| e.to_string())
            }
            Engine::Gpu(model) => {
                let mut session =
                    Session::new(model, ids.len(), N_BATCH).map_err(|e| e.to_string())?;
                pollster::block_on(session.logits_all(ids)).map_err(|e| e.to_string())
            }
        }
    }

    /// Vocabulary size of the model.
    pub fn n_vocab(&self) -> usize {
        match self {
            Engine::Cpu(m) => m.config.n_vocab,
            Engine::Gpu(m) => m.config.n_vocab,
        }
    }
}
