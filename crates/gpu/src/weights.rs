//! The model's weights on the GPU, named exactly like the GGUF tensors (and like
//! `hearth_model::Weights`, the CPU reference's).

use std::borrow::Cow;
use std::cell::RefCell;

use hearth_gguf::{Gguf, TensorInfo, dequantize_vec};
use hearth_model::Config;
use hearth_model::arch::Weights;

use crate::kernels::Ropes;

use crate::{Gpu, GpuTensor, GpuWeights, Result};

/// All weights of a model on the GPU (the architecture's table in the GPU's types);
/// matrices keep their GGUF block format, norms are f32.
pub type GpuModelWeights = Weights<GpuWeights, GpuTensor>;

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

/// Uploads every weight of `cfg`'s model, tensor by tensor, from `src`; with the RoPE
/// rotation speeds (`rope_freqs.weight` folded in, and the sliding-window layers').
pub(crate) fn upload(
    gpu: &Gpu,
    gguf: &Gguf,
    cfg: &Config,
    src: &dyn TensorSource,
) -> Result<(GpuModelWeights, Ropes)> {
    assemble(gpu, gguf, cfg, &mut FromBytes(src))
}

/// Builds the weights of `cfg`'s model from `parts`, in the architecture's table, every
/// tensor shape-checked; with the RoPE rotation speeds.
pub(crate) fn assemble(
    gpu: &Gpu,
    gguf: &Gguf,
    cfg: &Config,
    parts: &mut dyn WeightParts,
) -> Result<(GpuModelWeights, Ropes)> {
    let parts = RefCell::new(parts);
    let weights = Weights::load(
        gguf,
        cfg,
        |t, rows, cols| parts.borrow_mut().matrix(gpu, t, rows, cols),
        |t, _| {
            let v = parts.borrow_mut().vector(t)?;
            Ok(GpuTensor::from_slice(gpu, &v, &t.name))
        },
        |t, _| parts.borrow_mut().vector(t),
    )?;
    let rope = Ropes::new(gpu, cfg, weights.rope_freqs())?;
    Ok((weights, rope))
}
