//! Wrapper of add.wgsl: x += y, the residual connection, and x += b on every row, a
//! projection's bias.

use super::{Op, bind, groups_2d, uniform};
use crate::{Gpu, GpuError, GpuTensor, Kernel, Result};

/// Invocations per workgroup (one per element).
const WG_SIZE: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct AddParams {
    n: u32,
    y_len: u32,
    _pad: [u32; 2],
}

/// x += y over the first `n` floats; `y` must be another buffer than `x`.
/// Twin: `hearth_model::ops::add`.
pub fn add(gpu: &Gpu, x: &GpuTensor, y: &GpuTensor, n: usize) -> Result<Vec<Op>> {
    add_repeated(gpu, x, y, n, n)
}

/// x += b on each of the first `n_rows` rows of x, b's length wide; `b` must be another
/// buffer than `x`. Twin: `hearth_model::ops::add_bias`.
pub fn add_bias(gpu: &Gpu, x: &GpuTensor, b: &GpuTensor, n_rows: usize) -> Result<Vec<Op>> {
    add_repeated(gpu, x, b, n_rows.saturating_mul(b.len), b.len)
}

/// x[i] += y[i mod y_len] for i < n.
fn add_repeated(
    gpu: &Gpu,
    x: &GpuTensor,
    y: &GpuTensor,
    n: usize,
    y_len: usize,
) -> Result<Vec<Op>> {
    if x.len < n || y.len < y_len || (y_len == 0 && n > 0) || n > u32::MAX as usize {
        return Err(GpuError::Shape(format!(
            "add of {n} floats with x of {} and y of {} (repeated every {y_len})",
            x.len, y.len
        )));
    }
    if x.buffer == y.buffer {
        return Err(GpuError::Shape(
            "add: y must be another buffer than x".into(),
        ));
    }
    let pipeline = gpu.pipeline(Kernel::Add, None, &[("WG_SIZE", WG_SIZE)])?;
    let params = AddParams {
        n: n as u32,
        y_len: y_len.max(1) as u32,
        _pad: [0; 2],
    };
    let p = uniform(gpu, "add params", &params);
    Ok(vec![Op {
        bind_group: bind(gpu, &pipeline, "add", &[&x.buffer, &y.buffer, &p]),
        pipeline,
        groups: groups_2d((n as u32).div_ceil(WG_SIZE)),
        indirect: None,
    }])
}
