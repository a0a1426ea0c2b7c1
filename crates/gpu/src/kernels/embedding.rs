//! Wrapper of embedding.wgsl: token-embedding lookup, scaled (and whole-matrix
//! dequantization).

use super::{MAX_GROUPS, Op, WG_SIZE, bind, uniform};
use crate::{Gpu, GpuError, GpuTensor, GpuWeights, Kernel, Result};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct EmbeddingParams {
    cols: u32,
    row_words: u32,
    first_row: u32,
    rows: u32,
    scale: f32,
    _pad: [u32; 3],
}

/// out[i, :] = W[tokens[i], :] dequantized, times `scale` (1, or Gemma's √n_embd), for
/// `n_tokens` ids in `tokens`; `out` holds n_tokens × cols floats. Twin:
/// `hearth_gguf::dequantize` of each row, then each value times `scale` in f32.
pub fn embedding(
    gpu: &Gpu,
    w: &GpuWeights,
    tokens: &GpuTensor,
    n_tokens: usize,
    out: &GpuTensor,
    scale: f32,
) -> Result<Vec<Op>> {
    if tokens.len < n_tokens || out.len < n_tokens * w.cols || n_tokens as u32 > MAX_GROUPS {
        return Err(GpuError::Shape(format!(
            "embedding of {n_tokens} tokens × {} into {} floats (token buffer {})",
            w.cols, out.len, tokens.len
        )));
    }
    // scale 1 compiles without the multiply: the dequantized bits exactly, subnormals too
    let overrides = [("WG_SIZE", WG_SIZE), ("SCALED", u32::from(scale != 1.0))];
    let pipeline = gpu.pipeline(Kernel::Embedding, Some(w.ty), &overrides)?;
    let chunks = (w.cols / 8) as u32;
    w.parts
        .iter()
        .map(|part| {
            let params = EmbeddingParams {
                cols: w.cols as u32,
                row_words: w.row_words as u32,
                first_row: part.first_row as u32,
                rows: part.rows as u32,
                scale,
                _pad: [0; 3],
            };
            let p = uniform(gpu, "embedding params", &params);
            Ok(Op {
                bind_group: bind(
                    gpu,
                    &pipeline,
                    "embedding",
                    &[&part.buffer, &tokens.buffer, &out.buffer, &p],
                ),
                pipeline: pipeline.clone(),
                groups: [chunks.div_ceil(WG_SIZE), n_tokens as u32, 1],
                indirect: None,
            })
        })
        .collect()
}
