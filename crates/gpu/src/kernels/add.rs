//! Wrapper of add.wgsl: x += y, the residual connection.

use super::{Op, bind, groups_2d, uniform};
use crate::{Gpu, GpuError, GpuTensor, Kernel, Result};

/// Invocations per workgroup (one per element).
const WG_SIZE: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct AddParams {
    n: u32,
    _pad: [u32; 3],
}

/// x += y over the first `n` floats; `y` must be another buffer than `x`.
/// Twin: `hearth_model::ops::add`.
pub fn add(gpu: &Gpu, x: &GpuTensor, y: &GpuTensor, n: usize) -> Result<Vec<Op>> {
    if x.len < n || y.len < n || n > u32::MAX as usize {
        return Err(GpuError::Shape(format!(
            "add of {n} floats with x of {} and y of {}",
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
        _pad: [0; 3],
    };
    let p = uniform(gpu, "add params", &params);
    Ok(vec![Op {
        bind_group: bind(gpu, &pipeline, "add", &[&x.buffer, &y.buffer, &p]),
        pipeline,
        groups: groups_2d((n as u32).div_ceil(WG_SIZE)),
        indirect: None,
    }])
}
