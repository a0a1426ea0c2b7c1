//! Wrapper of matvec.wgsl: y = W·x for one token.

use super::{Op, WG_SIZE, bind, groups_2d, uniform};
use crate::{Gpu, GpuError, GpuTensor, GpuWeights, Kernel, Result};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct MatvecParams {
    rows: u32,
    cols: u32,
    row_words: u32,
    y_offset: u32,
    accumulate: u32,
    _pad: [u32; 3],
}

/// Most rows one invocation dots in the one-thread-per-row path (`MAX_ROWS` in matvec.wgsl).
const MAX_ROWS: u32 = 4;

/// y = W·x (or y += W·x with `accumulate`) for one token: W is rows × cols, x holds cols
/// floats, y rows. Twin: `hearth_model::ops::matvec`.
pub fn matvec(
    gpu: &Gpu,
    w: &GpuWeights,
    x: &GpuTensor,
    y: &GpuTensor,
    accumulate: bool,
) -> Result<Vec<Op>> {
    if x.len < w.cols || y.len < w.rows || !w.cols.is_multiple_of(4) {
        return Err(GpuError::Shape(format!(
            "matvec of {}×{} weights with x of {} and y of {}",
            w.rows, w.cols, x.len, y.len
        )));
    }
    let row_threads = gpu.matvec_row_threads.clamp(1, WG_SIZE);
    if !row_threads.is_power_of_two() {
        return Err(GpuError::Shape(format!(
            "matvec: {row_threads} threads per row is not a power of two"
        )));
    }
    let rows = if row_threads == 1 {
        gpu.matvec_rows.clamp(1, MAX_ROWS)
    } else {
        1
    };
    let rows_per_group = WG_SIZE / row_threads * rows;
    let pipeline = gpu.pipeline(
        Kernel::Matvec,
        Some(w.ty),
        &[
            ("WG_SIZE", WG_SIZE),
            ("ROW_THREADS", row_threads),
            ("ROWS", rows),
        ],
    )?;
    w.parts
        .iter()
        .map(|part| {
            let params = MatvecParams {
                rows: part.rows as u32,
                cols: w.cols as u32,
                row_words: w.row_words as u32,
                y_offset: part.first_row as u32,
                accumulate: accumulate as u32,
                _pad: [0; 3],
            };
            let p = uniform(gpu, "matvec params", &params);
            Ok(Op {
                bind_group: bind(
                    gpu,
                    &pipeline,
                    "matvec",
                    &[&part.buffer, &x.buffer, &y.buffer, &p],
                ),
                pipeline: pipeline.clone(),
                groups: groups_2d((part.rows as u32).div_ceil(rows_per_group)),
            })
        })
        .collect()
}
