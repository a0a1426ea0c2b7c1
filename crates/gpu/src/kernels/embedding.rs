//! Wrapper of embedding.wgsl: token-embedding lookup (and whole-matrix dequantization).

use super::{MAX_GROUPS, Op, WG_SIZE, bind, uniform};
use crate::{Gpu, GpuError, GpuTensor, GpuWeights, Kernel, Result};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct EmbeddingParams {
    cols: u32,
    row_words: u32,
    first_row: u32,
    rows: u32,
}

/// out[i, :] = W[tokens[i], :] dequantized, for `n_tokens` ids in `tokens`; `out` holds
/// n_tokens × cols floats. Twin: `hearth_gguf::dequantize` of each row.
pub fn embedding(
    gpu: &Gpu,
    w: &GpuWeights,
    tokens: &GpuTensor,
    n_tokens: usize,
    out: &GpuTensor,
) -> Result<Vec<Op>> {
    if tokens.len < n_tokens || out.len < n_tokens * w.cols || n_tokens as u32 > MAX_GROUPS {
        return Err(GpuError::Shape(format!(
            "embedding of {n_tokens} tokens × {} into {} floats (token buffer {})",
            w.cols, out.len, tokens.len
        )));
    }
    let pipeline = gpu.pipeline(Kernel::Embedding, Some(w.ty), &[("WG_SIZE", WG_SIZE)])?;
    let chunks = (w.cols / 8) as u32;
    w.parts
        .iter()
        .map(|part| {
            let params = EmbeddingParams {
                cols: w.cols as u32,
                row_words: w.row_words as u32,
                first_row: part.first_row as u32,
                rows: part.rows as u32,
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
