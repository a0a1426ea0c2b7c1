//! The model's weights on the GPU, named exactly like the GGUF tensors (and like
//! `hearth_model::Weights`, the CPU reference's).

use std::borrow::Cow;
use std::cell::RefCell;

use hearth_gguf::{Gguf, TensorInfo, dequantize_vec};
use hearth_model::ops::RopeParams;
use hearth_model::{Config, LayerWeights, check_supported, tensor_info};

use crate::kernels::RopeFreqs;

use crate::{Gpu, GpuTensor, GpuWeights, Result};

/// One transformer block's weights, `blk.N.*`: matrices in their block format, norms f32.
pub type GpuLayer = LayerWeights<GpuWeights, GpuTensor>;

/// All weights of a Llama model on the GPU; matrices keep their GGUF block format.
pub struct GpuModelWeights {
    pub token_embd: GpuWeights, // (n_vocab, n_embd)
    pub layers: Vec<GpuLayer>,
    pub output_norm: GpuTensor,     // (n_embd) f32
    pub output: Option<GpuWeights>, // (n_vocab, n_embd); None: tied to token_embd
    pub rope: RopeFreqs,            // per-pair rotation speeds (rope_freqs.weight folded in)
}

/// Where tensor bytes come from: the whole file in memory natively, chunks in the browser.
pub trait TensorSource {
    /// The GGUF bytes of tensor `t`.
    fn bytes(&self, t: &TensorInfo) -> Result<Cow<'_, [u8]>>;
}

/// A GGUF file held in memory (or memory-mapped).
pub struct FileBytes<'a> {
    pub gguf: &'a Gguf,
    pub file: &'a [u8],
}

impl TensorSource for FileBytes<'_> {
    fn bytes(&self, t: &TensorInfo) -> Result<Cow<'_, [u8]>> {
        Ok(Cow::Borrowed(self.gguf.tensor_bytes(self.file, t)?))
    }
}

/// Where assembling the model gets each weight, by GGUF tensor (whose shape the caller
/// has checked): uploaded from bytes now, or already streamed to the GPU.
pub(crate) trait WeightParts {
    /// The matrix of `t`, `rows` × `cols`, on the GPU.
    fn matrix(&mut self, gpu: &Gpu, t: &TensorInfo, rows: usize, cols: usize)
    -> Result<GpuWeights>;
    /// The values of the 1-D tensor `t`, as f32.
    fn vector(&mut self, t: &TensorInfo) -> Result<Vec<f32>>;
}

/// Uploads each weight from a [`TensorSource`]'s bytes when asked for it.
struct FromBytes<'a>(&'a dyn TensorSource);

impl WeightParts for FromBytes<'_> {
    fn matrix(
        &mut self,
        gpu: &Gpu,
        t: &TensorInfo,
        rows: usize,
        cols: usize,
    ) -> Result<GpuWeights> {
        GpuWeights::upload(gpu, &t.name, t.ty, rows, cols, &self.0.bytes(t)?)
    }

    fn vector(&mut self, t: &TensorInfo) -> Result<Vec<f32>> {
        Ok(dequantize_vec(t.ty, &self.0.bytes(t)?)?)
    }
}

impl GpuModelWeights {
    /// Uploads every weight of `cfg`'s model, tensor by tensor, from `src`.
    pub fn upload(
        gpu: &Gpu,
        gguf: &Gguf,
        cfg: &Config,
        src: &dyn TensorSource,
    ) -> Result<GpuModelWeights> {
        GpuModelWeights::assemble(gpu, gguf, cfg, &mut FromBytes(src))
    }

    /// Builds the weights of `cfg`'s model from `parts`, checking every tensor's shape.
    pub(crate) fn assemble(
        gpu: &Gpu,
        gguf: &Gguf,
        cfg: &Config,
        parts: &mut dyn WeightParts,
    ) -> Result<GpuModelWeights> {
        check_supported(gguf)?;
        let e = cfg.n_embd;
        let parts = RefCell::new(parts);
        let matrix = |name: &str, rows: usize, cols: usize| -> Result<GpuWeights> {
            let t = tensor_info(gguf, name, &[cols, rows])?;
            parts.borrow_mut().matrix(gpu, t, rows, cols)
        };
        let values = |name: &str, len: usize| -> Result<Vec<f32>> {
            parts.borrow_mut().vector(tensor_info(gguf, name, &[len])?)
        };
        let vector = |name: &str, len: usize| -> Result<GpuTensor> {
            Ok(GpuTensor::from_slice(gpu, &values(name, len)?, name))
        };
        let token_embd = matrix("token_embd.weight", cfg.n_vocab, e)?;
        let output = match cfg.tied_embeddings {
            true => None,
            false => Some(matrix("output.weight", cfg.n_vocab, e)?),
        };
        let layers = (0..cfg.n_layer)
            .map(|i| GpuLayer::load(cfg, i, matrix, vector))
            .collect::<Result<Vec<_>>>()?;
        let freq_factors = match cfg.has_rope_freqs {
            true => Some(values("rope_freqs.weight", cfg.rope_dim / 2)?),
            false => None,
        };
        let rope = RopeFreqs::new(
            gpu,
            &RopeParams {
                dim: cfg.rope_dim,
                base: cfg.rope_base,
                freq_scale: cfg.rope_freq_scale,
                freq_factors,
            },
        )?;
        Ok(GpuModelWeights {
            token_embd,
            layers,
            output_norm: vector("output_norm.weight", e)?,
            output,
            rope,
        })
    }

    /// The lm-head: `output.weight`, or the token embedding when the two are tied.
    pub fn lm_head(&self) -> &GpuWeights {
        self.output.as_ref().unwrap_or(&self.token_embd)
    }
}
