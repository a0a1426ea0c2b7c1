//! Wrapper of rms_norm.wgsl: RMSNorm of each token's row, times the norm weight, into a
//! buffer or added to it (`norm_add`).

use super::{Op, bind, groups_2d, uniform};
use crate::{Gpu, GpuError, GpuTensor, Kernel, Result};

/// Invocations per workgroup (one workgroup per row).
const WG_SIZE: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct RmsNormParams {
    dim: u32,
    n_tokens: u32,
    eps: f32,
    _pad: u32,
}

/// out[t, :] = x[t, :] / sqrt(mean(x[t, :]²) + eps) · w for `n_tokens` rows of `w.len`
/// floats; `out` must be another buffer than `x`. Twin: `hearth_model::ops::rms_norm`.
pub fn rms_norm(
    gpu: &Gpu,
    x: &GpuTensor,
    w: &GpuTensor,
    out: &GpuTensor,
    n_tokens: usize,
    eps: f32,
) -> Result<Vec<Op>> {
    norm(gpu, x, w, out, n_tokens, eps, false)
}

/// x[t, :] += y[t, :] / sqrt(mean(y[t, :]²) + eps) · w for `n_tokens` rows of `w.len`
/// floats (a sublayer's output `y` post-normed into the residual `x`, in one pass: rms_norm.wgsl
/// with ACCUMULATE); `x` must be another buffer than `y`. Twin: `hearth_model::ops::norm_add`.
pub fn norm_add(
    gpu: &Gpu,
    x: &GpuTensor,
    y: &GpuTensor,
    w: &GpuTensor,
    n_tokens: usize,
    eps: f32,
) -> Result<Vec<Op>> {
    norm(gpu, y, w, x, n_tokens, eps, true)
}

/// rms_norm.wgsl: `out` = or (with `accumulate`) += the normed rows of `x`.
fn norm(
    gpu: &Gpu,
    x: &GpuTensor,
    w: &GpuTensor,
    out: &GpuTensor,
    n_tokens: usize,
    eps: f32,
    accumulate: bool,
) -> Result<Vec<Op>> {
    let name = if accumulate { "norm_add" } else { "rms_norm" };
    let dim = w.len;
    let n = n_tokens.saturating_mul(dim);
    if dim == 0 || x.len < n || out.len < n || n > u32::MAX as usize {
        return Err(GpuError::Shape(format!(
            "{name} of {n_tokens} rows of {dim} with input of {} and output of {}",
            x.len, out.len
        )));
    }
    if out.buffer == x.buffer || out.buffer == w.buffer {
        return Err(GpuError::Shape(format!(
            "{name}: the output must be another buffer than the input and w"
        )));
    }
    let overrides = [("WG_SIZE", WG_SIZE), ("ACCUMULATE", u32::from(accumulate))];
    let pipeline = gpu.pipeline(Kernel::RmsNorm, None, &overrides)?;
    let params = RmsNormParams {
        dim: dim as u32,
        n_tokens: n_tokens as u32,
        eps,
        _pad: 0,
    };
    let p = uniform(gpu, "rms_norm params", &params);
    Ok(vec![Op {
        bind_group: bind(
            gpu,
            &pipeline,
            name,
            &[&x.buffer, &w.buffer, &out.buffer, &p],
        ),
        pipeline,
        groups: groups_2d(n_tokens as u32),
        indirect: None,
    }])
}
