//! Wrapper of silu_mul.wgsl: the gated FFN's product act(gate) · up, SwiGLU's silu or
//! GeGLU's gelu.

use super::{Op, bind, groups_2d, uniform};
use crate::{Gpu, GpuError, GpuTensor, Kernel, Result};

/// Invocations per workgroup (one per element).
const WG_SIZE: u32 = 256;

/// The activation of a gated feed-forward block, act(gate) · up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Glu {
    /// SwiGLU: silu(z) = z / (1 + e^(−z)) (`hearth_model::ops::silu_mul`).
    Silu,
    /// GeGLU: GELU's tanh form (`hearth_model::ops::gelu_mul`; Gemma).
    Gelu,
}

impl Glu {
    /// The kernels' `GELU` override (silu_mul.wgsl, and the matvec kernels' GLU mode).
    pub(crate) fn gelu_flag(self) -> u32 {
        u32::from(self == Glu::Gelu)
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SiluMulParams {
    n: u32,
    _pad: [u32; 3],
}

/// out = silu(gate) · up over the first `n` floats, silu(z) = z / (1 + e^(−z)); `out` must be
/// another buffer than `gate` and `up`. Twin: `hearth_model::ops::silu_mul`.
pub fn silu_mul(
    gpu: &Gpu,
    gate: &GpuTensor,
    up: &GpuTensor,
    out: &GpuTensor,
    n: usize,
) -> Result<Vec<Op>> {
    glu_mul(gpu, Glu::Silu, gate, up, out, n)
}

/// out = gelu(gate) · up over the first `n` floats, GELU's tanh form; `out` must be another
/// buffer than `gate` and `up`. Twin: `hearth_model::ops::gelu_mul`.
pub fn gelu_mul(
    gpu: &Gpu,
    gate: &GpuTensor,
    up: &GpuTensor,
    out: &GpuTensor,
    n: usize,
) -> Result<Vec<Op>> {
    glu_mul(gpu, Glu::Gelu, gate, up, out, n)
}

/// out = act(gate) · up over the first `n` floats: [`silu_mul`] or [`gelu_mul`].
pub fn glu_mul(
    gpu: &Gpu,
    act: Glu,
    gate: &GpuTensor,
    up: &GpuTensor,
    out: &GpuTensor,
    n: usize,
) -> Result<Vec<Op>> {
    if gate.len < n || up.len < n || out.len < n || n > u32::MAX as usize {
        return Err(GpuError::Shape(format!(
            "{act:?} GLU of {n} floats with gate of {}, up of {} and out of {}",
            gate.len, up.len, out.len
        )));
    }
    if out.buffer == gate.buffer || out.buffer == up.buffer {
        return Err(GpuError::Shape(format!(
            "{act:?} GLU: out must be another buffer than gate and up"
        )));
    }
    let overrides = [("WG_SIZE", WG_SIZE), ("GELU", act.gelu_flag())];
    let pipeline = gpu.pipeline(Kernel::SiluMul, None, &overrides)?;
    let params = SiluMulParams {
        n: n as u32,
        _pad: [0; 3],
    };
    let p = uniform(gpu, "silu_mul params", &params);
    Ok(vec![Op {
        bind_group: bind(
            gpu,
            &pipeline,
            "silu_mul",
            &[&gate.buffer, &up.buffer, &out.buffer, &p],
        ),
        pipeline,
        groups: groups_2d((n as u32).div_ceil(WG_SIZE)),
        indirect: None,
    }])
}
