//! Wrapper of matvec.wgsl: y = W·x for one token.

use super::{Op, WG_SIZE, groups_2d, uniform};
use crate::tensor::UNIFORM_BINDING;
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

/// Invocations per workgroup of matvec_rowwise.wgsl: small, so that even a 192-row matrix
/// is several workgroups for the driver's threads (16 measured best on lavapipe, 2 cores).
const ROWWISE_WG_SIZE: u32 = 16;

/// Most rows one invocation dots in matvec_rowwise.wgsl (`MAX_ROWS` there).
const MAX_ROWS: u32 = 4;

/// y = W·x (or y += W·x with `accumulate`) for one token: W is rows × cols, x holds cols
/// floats, y rows. With `matvec_row_threads` 1 (CPU drivers) and rows that fit x in a
/// uniform binding, matvec_rowwise.wgsl; otherwise matvec.wgsl. Twin:
/// `hearth_model::ops::matvec`.
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
    // CPU drivers: whole rows per invocation, x in a uniform binding when it fits
    let rowwise = row_threads == 1 && w.cols as u64 * 4 <= UNIFORM_BINDING;
    let (pipeline, rows_per_group) = if rowwise {
        let rows = gpu.matvec_rows.clamp(1, MAX_ROWS);
        let overrides = [("WG_SIZE", ROWWISE_WG_SIZE), ("ROWS", rows)];
        let pipeline = gpu.pipeline(Kernel::MatvecRowwise, Some(w.ty), &overrides)?;
        (pipeline, ROWWISE_WG_SIZE * rows)
    } else {
        let overrides = [("WG_SIZE", WG_SIZE), ("ROW_THREADS", row_threads)];
        let pipeline = gpu.pipeline(Kernel::Matvec, Some(w.ty), &overrides)?;
        (pipeline, WG_SIZE / row_threads)
    };
    let x_binding = wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer: &x.buffer,
        offset: 0,
        size: if rowwise {
            std::num::NonZeroU64::new(UNIFORM_BINDING)
        } else {
            None
        },
    });
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
            let resources = [
                part.buffer.as_entire_binding(),
                x_binding.clone(),
                y.buffer.as_entire_binding(),
                p.as_entire_binding(),
            ];
            let entries: Vec<wgpu::BindGroupEntry> = resources
                .into_iter()
                .enumerate()
                .map(|(i, resource)| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource,
                })
                .collect();
            let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(&pipeline.label),
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            });
            Ok(Op {
                bind_group,
                pipeline: pipeline.clone(),
                groups: groups_2d((part.rows as u32).div_ceil(rows_per_group)),
                indirect: None,
            })
        })
        .collect()
}
