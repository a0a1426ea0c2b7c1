//! Wrapper of matmul.wgsl: Y = X·Wᵀ for many tokens (prefill), tiled in workgroup memory.

use super::{MAX_GROUPS, Op, bind, uniform};
use crate::{Gpu, GpuError, GpuTensor, GpuWeights, Kernel, Result};

/// Tokens per workgroup tile. 32 (not 64) so that a short prompt, such as a follow-up chat
/// turn, wastes little of a tile; with 64 rows that is 128 invocations of 4 × 4 outputs.
const TILE_T: u32 = 32;
/// Tokens per tile for calls of at most this many tokens (a short turn, a prompt's last
/// few tokens): a 32-token tile would compute 4 × what is wanted, and CPU drivers pay for
/// every multiply (an 8-token prompt cost as much as 32 on lavapipe). A second pipeline
/// per format, compiled with the first at load (`crate::warm`).
pub(crate) const SMALL_TILE_T: u32 = 8;
/// Rows of W per workgroup tile: each W tile is dequantized once for TILE_T tokens.
const TILE_R: u32 = 64;
/// 8-weight chunks per step along the row (one 32-weight block of the Q formats). The
/// tiles then take 32 · TILE_K · (TILE_R + TILE_T) = 12 KiB of the 16 KiB WebGPU grants.
const TILE_K: u32 = 4;

// the portable limits: ≤ 256 invocations (SwiftShader), ≤ 16 KiB of workgroup memory
// (WebGPU's default); matmul.wgsl computes 4 × 4 outputs per invocation
const _: () = assert!(TILE_T.is_multiple_of(4) && TILE_R.is_multiple_of(4));
const _: () = assert!(SMALL_TILE_T.is_multiple_of(4) && SMALL_TILE_T < TILE_T);
const _: () = assert!((TILE_R / 4) * (TILE_T / 4) <= 256);
const _: () = assert!(32 * TILE_K * (TILE_R + TILE_T) <= 16384);

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct MatmulParams {
    rows: u32,
    cols: u32,
    row_words: u32,
    n_tokens: u32,
    y_offset: u32,
    y_stride: u32,
    accumulate: u32,
    _pad: u32,
}

/// Y = X·Wᵀ (or Y += X·Wᵀ with `accumulate`) for `n_tokens` tokens: W is rows × cols, `x`
/// holds n_tokens × cols floats (one token per row), `y` n_tokens × rows. One op per
/// weight part. Twin: `hearth_model::ops::matvec` of each token's row.
pub fn matmul(
    gpu: &Gpu,
    w: &GpuWeights,
    x: &GpuTensor,
    n_tokens: usize,
    y: &GpuTensor,
    accumulate: bool,
) -> Result<Vec<Op>> {
    // x and y lengths, which must also keep every index within u32
    let fits =
        |len: usize, n: Option<usize>| n.is_some_and(|n| n <= len && u32::try_from(n).is_ok());
    if !fits(x.len, n_tokens.checked_mul(w.cols))
        || !fits(y.len, n_tokens.checked_mul(w.rows))
        || !w.cols.is_multiple_of(8)
        || n_tokens.div_ceil(TILE_T as usize) > MAX_GROUPS as usize
    {
        return Err(GpuError::Shape(format!(
            "matmul of {}×{} weights with {n_tokens} tokens, x of {} and y of {}",
            w.rows, w.cols, x.len, y.len
        )));
    }
    if n_tokens == 0 {
        return Ok(Vec::new());
    }
    let tile_t = if n_tokens <= SMALL_TILE_T as usize {
        SMALL_TILE_T
    } else {
        TILE_T
    };
    let overrides = [("TILE_T", tile_t), ("TILE_R", TILE_R), ("TILE_K", TILE_K)];
    let pipeline = gpu.pipeline(Kernel::Matmul, Some(w.ty), &overrides)?;
    w.parts
        .iter()
        .map(|part| {
            let row_tiles = part.rows.div_ceil(TILE_R as usize);
            if row_tiles > MAX_GROUPS as usize {
                return Err(GpuError::TooLarge(format!(
                    "matmul: {} rows in one buffer, above {} workgroups of {TILE_R}",
                    part.rows, MAX_GROUPS
                )));
            }
            let params = MatmulParams {
                rows: part.rows as u32,
                cols: w.cols as u32,
                row_words: w.row_words as u32,
                n_tokens: n_tokens as u32,
                y_offset: part.first_row as u32,
                y_stride: w.rows as u32,
                accumulate: accumulate as u32,
                _pad: 0,
            };
            let p = uniform(gpu, "matmul params", &params);
            Ok(Op {
                bind_group: bind(
                    gpu,
                    &pipeline,
                    "matmul",
                    &[&part.buffer, &x.buffer, &y.buffer, &p],
                ),
                pipeline: pipeline.clone(),
                groups: [
                    row_tiles as u32,
                    n_tokens.div_ceil(tile_t as usize) as u32,
                    1,
                ],
                indirect: None,
            })
        })
        .collect()
}
