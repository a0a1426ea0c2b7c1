//! The model's weights on the GPU, named exactly like the GGUF tensors (and like
//! `hearth_model::Weights`, the CPU reference's).

use std::borrow::Cow;

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

impl GpuModelWeights {
    /// Uploads every weight of `cfg`'s model, tensor by tensor, from `src`.
    pub fn upload(
        gpu: &Gpu,
        gguf: &Gguf,
        cfg: &Config,
        src: &dyn TensorSource,
    ) -> Result<GpuModelWeights> {
        check_supported(gguf)?;
        let e = cfg.n_embd;
        let layers = (0..cfg.n_layer)
            .map(|i| {
                GpuLayer::load(
                    cfg,
                    i,
                    |name, rows, cols| matrix(gpu, gguf, src, name, rows, cols),
                    |name, len| vector(gpu, gguf, src, name, len),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let freq_factors = match cfg.has_rope_freqs {
            true => {
                let t = tensor_info(gguf, "rope_freqs.weight", &[cfg.rope_dim / 2])?;
                Some(dequantize_vec(t.ty, &src.bytes(t)?)?)
            }
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
            token_embd: matrix(gpu, gguf, src, "token_embd.weight", cfg.n_vocab, e)?,
            layers,
            output_norm: vector(gpu, gguf, src, "output_norm.weight", e)?,
            output: match cfg.tied_embeddings {
                true => None,
                false => Some(matrix(gpu, gguf, src, "output.weight", cfg.n_vocab, e)?),
            },
            rope,
        })
    }

    /// The lm-head: `output.weight`, or the token embedding when the two are tied.
    pub fn lm_head(&self) -> &GpuWeights {
        self.output.as_ref().unwrap_or(&self.token_embd)
    }
}

fn matrix(
    gpu: &Gpu,
    gguf: &Gguf,
    src: &dyn TensorSource,
    name: &str,
    rows: usize,
    cols: usize,
) -> Result<GpuWeights> {
    let t = tensor_info(gguf, name, &[cols, rows])?;
    GpuWeights::upload(gpu, name, t.ty, rows, cols, &src.bytes(t)?)
}

fn vector(
    gpu: &Gpu,
    gguf: &Gguf,
    src: &dyn TensorSource,
    name: &str,
    len: usize,
) -> Result<GpuTensor> {
    let t = tensor_info(gguf, name, &[len])?;
    Ok(GpuTensor::from_slice(
        gpu,
        &dequantize_vec(t.ty, &src.bytes(t)?)?,
        name,
    ))
}
