//! Wrapper of silu_mul.wgsl: the SwiGLU product silu(gate) · up.

use super::{Op, bind, groups_2d, uniform};
use crate::{Gpu, GpuError, GpuTensor, Kernel, Result};

/// Invocations per workgroup (one per element).
const WG_SIZE: u32 = 256;

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
    if gate.len < n || up.len < n || out.len < n || n > u32::MAX as usize {
        return Err(GpuError::Shape(format!(
            "silu_mul of {n} floats with gate of {}, up of {} and out of {}",
            gate.len, up.len, out.len
        )));
    }
    if out.buffer == gate.buffer || out.buffer == up.buffer {
        return Err(GpuError::Shape(
            "silu_mul: out must be another buffer than gate and up".into(),
        ));
    }
    let pipeline = gpu.pipeline(Kernel::SiluMul, None, &[("WG_SIZE", WG_SIZE)])?;
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
