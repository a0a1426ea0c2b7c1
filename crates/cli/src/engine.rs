//! The backends behind one face: the f32 reference, the CPU engine and the GPU engine,
//! and how `auto` chooses between the last two.

use clap::ValueEnum;
use hearth_cpu::{CpuModel, CpuSession};
use hearth_gguf::Gguf;
use hearth_gpu::kernels::KvType;
use hearth_gpu::{FileBytes, Gpu, GpuModel, Session};
use hearth_model::conversation::{Answer, Conversation, RefContext};
use hearth_model::sampler::Sampler;
use hearth_model::{Guide, Model, StopRule};

/// Where the forward pass runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The GPU on a hardware adapter, else the CPU engine (no adapter, or a software one).
    Auto,
    /// WGSL kernels through wgpu (Vulkan, Metal or DX12), whatever the adapter.
    Gpu,
    /// The CPU engine: quantized SIMD kernels on every core.
    Cpu,
    /// The f32 reference implementation (the oracle of the tests), one thread.
    Reference,
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

/// What `auto` resolves to, and why (for --verbose and `hearth bench`).
pub fn resolve(backend: Backend) -> (Backend, String) {
    match backend {
        Backend::Auto => match Gpu::probe_blocking() {
            Ok((name, false)) => (Backend::Gpu, format!("hardware adapter {name}")),
            Ok((name, true)) => (Backend::Cpu, format!("{name} is a software adapter")),
            Err(e) => (Backend::Cpu, format!("no GPU adapter ({e})")),
        },
        b => (b, "chosen with --backend".into()),
    }
}

/// A loaded model on one backend, and why that backend.
pub struct Engine {
    loaded: Loaded,
    /// Why this backend runs (`auto`'s reason, or the flag).
    pub why: String,
}

enum Loaded {
    Reference(Box<Model>),
    Cpu(Box<CpuModel>),
    Gpu(Box<GpuModel>),
}

impl Engine {
    /// Loads the model of `gguf` (whose whole file is `bytes`) on `backend` (`auto`
    /// resolved first; a KV cache of type `kv` on the GPU; `threads` for the CPU engine,
    /// 0 for one per core).
    pub fn load(
        backend: Backend,
        kv: Kv,
        threads: usize,
        gguf: &Gguf,
        bytes: &[u8],
    ) -> Result<Engine, String> {
        let e = |e: &dyn std::fmt::Display| e.to_string();
        let (backend, why) = resolve(backend);
        let loaded = match backend {
            Backend::Reference => {
                Loaded::Reference(Box::new(Model::from_gguf(gguf, bytes).map_err(|x| e(&x))?))
            }
            Backend::Cpu | Backend::Auto => Loaded::Cpu(Box::new(
                CpuModel::load(gguf, bytes, threads).map_err(|x| e(&x))?,
            )),
            Backend::Gpu => {
                let model = GpuModel::load(kv.gpu()?, gguf, &FileBytes { gguf, file: bytes })
                    .map_err(|x| e(&x))?;
                Loaded::Gpu(Box::new(model))
            }
        };
        Ok(Engine { loaded, why })
    }

    /// What runs the model, for --verbose.
    pub fn describe(&self) -> String {
        match &self.loaded {
            Loaded::Reference(_) => "CPU reference (f32)".into(),
            Loaded::Cpu(m) => format!("CPU engine, {} threads", m.threads()),
            Loaded::Gpu(m) => format!(
                "GPU: {}, {:?} KV cache",
                m.gpu.adapter_name(),
                m.gpu.kv_type
            ),
        }
    }

    /// Answers `prompt` in a fresh context of `n_ctx` positions, through the
    /// conversation layer the web engine uses too, with `guide` (a constraint, logprobs).
    pub fn generate(
        &self,
        prompt: &[u32],
        sampler: &mut Sampler,
        stop: &StopRule,
        n_ctx: usize,
        guide: Guide<'_>,
        on_token: impl FnMut(u32) -> hearth_model::Result<bool>,
    ) -> Result<Answer, String> {
        let mut conv = Conversation::new();
        let answer = match &self.loaded {
            Loaded::Reference(model) => {
                let mut ctx = RefContext::new(model, n_ctx);
                pollster::block_on(conv.run(&mut ctx, prompt, sampler, stop, guide, on_token))
            }
            Loaded::Cpu(model) => {
                let mut ctx = CpuSession::new(&**model, n_ctx);
                pollster::block_on(conv.run(&mut ctx, prompt, sampler, stop, guide, on_token))
            }
            Loaded::Gpu(model) => {
                let mut ctx = Session::new(model, n_ctx, N_BATCH).map_err(|e| e.to_string())?;
                pollster::block_on(conv.run(&mut ctx, prompt, sampler, stop, guide, on_token))
            }
        };
        answer.map_err(|e| e.to_string())
    }

    /// Logits of every position of `ids`: (ids.len(), n_vocab), row-major.
    pub fn logits(&self, ids: &[u32]) -> Result<Vec<f32>, String> {
        match &self.loaded {
            Loaded::Reference(model) => {
                let mut cache = model.new_cache(ids.len());
                model.forward(ids, &mut cache).map_err(|e| e.to_string())
            }
            Loaded::Cpu(model) => CpuSession::new(&**model, ids.len())
                .forward_all(ids)
                .map_err(|e| e.to_string()),
            Loaded::Gpu(model) => {
                let mut session =
                    Session::new(model, ids.len(), N_BATCH).map_err(|e| e.to_string())?;
                pollster::block_on(session.logits_all(ids)).map_err(|e| e.to_string())
            }
        }
    }

    /// Vocabulary size of the model.
    pub fn n_vocab(&self) -> usize {
        match &self.loaded {
            Loaded::Reference(m) => m.config.n_vocab,
            Loaded::Cpu(m) => m.config.n_vocab,
            Loaded::Gpu(m) => m.config.n_vocab,
        }
    }
}
