//! Compiling a model's pipelines before its weights arrive. Which pipelines a session
//! runs follows from the model's shapes and weight formats and the device's settings,
//! never from weight values; so a session over placeholder weights (each matrix in its
//! real format, shape and split into parts, every part one small shared buffer) records
//! the programs a real session would, and that compiles every pipeline they use into the
//! device's cache (shared by clones of the [`Gpu`]). The programs are dropped unrun.
//!
//! The first token's pipelines go first: a prefill program, then the sampler's; decode's
//! last (a prompt's last batch may be one token, so decode may be on the first token's
//! path too). Natively decode compiles on a second thread alongside, and both alongside
//! the upload ([`crate::GpuModel::load`], [`crate::StreamLoader::new`]).
//!
//! In the browser wgpu creates pipelines with the synchronous `createComputePipeline`,
//! which Chromium's GPU process compiles inline, one at a time, holding up every later
//! call: compiled at the load's start, the weights' `writeBuffer`s waited behind them
//! (SwiftShader: 4.4 s of compiles, the weights' push from 0.07 to 4.2 s, start to first
//! token unchanged). Handing the same descriptors to `createComputePipelineAsync` first
//! compiled them in parallel, but the later synchronous creation compiled them again (no
//! reuse, measured). So the browser compiles once the weights are in
//! ([`crate::StreamLoader::finish`]): creation returns at once, the engine is ready as
//! early as before, and the GPU process compiles while the user writes the first message.

use hearth_gguf::{Gguf, TensorInfo};
use hearth_model::Config;
use hearth_model::sampler::SamplerConfig;

use crate::kernels::SMALL_TILE_T;
use crate::weights::{WeightParts, assemble};
use crate::{Gpu, GpuModel, GpuWeights, Result, Session};

/// Positions of the placeholder sessions (pipelines do not depend on the context size).
const N_CTX: usize = N_PREFILL[1];
/// Tokens of the placeholder prefills: a short call and a long one (the prefill matmul
/// tiles calls of up to `SMALL_TILE_T` tokens smaller); pipelines depend on nothing else
/// of n > 1.
const N_PREFILL: [usize; 2] = [2, 2 * SMALL_TILE_T as usize];
/// Bytes of the buffer every placeholder part binds: at least any kernel's smallest
/// binding (one vec4 of a runtime-sized array).
const PLACEHOLDER_BYTES: u64 = 256;

/// Compiles the pipelines that sessions of `gguf`'s model (of config `cfg`) on `gpu`
/// will use, before any weight is on the GPU ([`Gpu::pipeline_stats`] counts them).
/// Errors are the ones a real session would meet.
pub fn warm_pipelines(gpu: &Gpu, gguf: &Gguf, cfg: &Config) -> Result<()> {
    let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("placeholder weights"),
        size: PLACEHOLDER_BYTES,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let (weights, rope) = assemble(gpu, gguf, cfg, &mut Placeholders { buffer })?;
    let model = GpuModel {
        gpu: gpu.clone(),
        config: cfg.clone(),
        weights,
        rope,
    };
    #[cfg(not(target_arch = "wasm32"))]
    return std::thread::scope(|s| {
        let decode = s.spawn(|| compile_decode(&model));
        let first = compile_first_token(&model);
        let decode = decode
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        first.and(decode)
    });
    #[cfg(target_arch = "wasm32")]
    compile_first_token(&model).and_then(|()| compile_decode(&model))
}

/// A prefill program and the sampler's: what the first token needs.
fn compile_first_token(model: &GpuModel) -> Result<()> {
    let session = Session::for_compiling(model, N_CTX, N_PREFILL[1]);
    // a model trained on fewer positions runs shorter calls (the session holds at most
    // its context): those are all its prefill sizes can be
    for n in N_PREFILL.map(|n| n.min(session.capacity())) {
        if n > 1 {
            session.record_last(n)?;
        }
    }
    let sampler = session.gpu_sampler(&SamplerConfig::default())?;
    session.record_pick(&sampler)?;
    Ok(())
}

/// The decode program.
fn compile_decode(model: &GpuModel) -> Result<()> {
    Session::for_compiling(model, N_CTX, 1).record_last(1)?;
    Ok(())
}

/// Matrices on the placeholder buffer; vectors of ones (RoPE factors divide by theirs).
struct Placeholders {
    buffer: wgpu::Buffer,
}

impl WeightParts for Placeholders {
    fn matrix(
        &mut self,
        gpu: &Gpu,
        t: &TensorInfo,
        rows: usize,
        cols: usize,
    ) -> Result<GpuWeights> {
        GpuWeights::placeholder(gpu, &t.name, t.ty, rows, cols, &self.buffer)
    }

    fn vector(&mut self, t: &TensorInfo) -> Result<Vec<f32>> {
        // the loader has checked the length against the config (a norm is n_embd wide)
        Ok(vec![1.0; t.n_elements() as usize])
    }
}
