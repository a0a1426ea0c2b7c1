//! Wrapper of kv_store.wgsl: this call's keys and values into one layer's KV cache.

use super::{Op, bind, groups_2d, uniform};
use crate::{Gpu, GpuError, GpuTensor, Kernel, Result};

/// Invocations per workgroup (one per element of k).
const WG_SIZE: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct KvStoreParams {
    kv_dim: u32,
    n_tokens: u32,
    n_ctx: u32,
    _pad: u32,
}

/// Copies `k` and `v` (`n_tokens` × `kv_dim` each) into rows `step.pos ..` of `k_cache` and
/// `v_cache` (n_ctx × kv_dim each, n_ctx = `k_cache.len / kv_dim`), where `step` is a
/// [`Step`](super::Step) buffer read when the op runs; rows at or past n_ctx are not written.
#[allow(clippy::too_many_arguments)] // the sources, the caches, the step and the shape
pub fn kv_store(
    gpu: &Gpu,
    k: &GpuTensor,
    v: &GpuTensor,
    k_cache: &GpuTensor,
    v_cache: &GpuTensor,
    step: &wgpu::Buffer,
    n_tokens: usize,
    kv_dim: usize,
) -> Result<Vec<Op>> {
    let n_ctx = k_cache.len.checked_div(kv_dim).unwrap_or(0);
    let n = n_tokens.saturating_mul(kv_dim);
    if kv_dim == 0
        || k.len < n
        || v.len < n
        || n > u32::MAX as usize
        || v_cache.len < n_ctx * kv_dim
        || k_cache.len > u32::MAX as usize
    {
        return Err(GpuError::Shape(format!(
            "kv_store of {n_tokens} rows of {kv_dim} with k of {}, v of {}, \
             k_cache of {} and v_cache of {}",
            k.len, v.len, k_cache.len, v_cache.len
        )));
    }
    if k_cache.buffer == v_cache.buffer
        || [&k.buffer, &v.buffer]
            .iter()
            .any(|b| **b == k_cache.buffer || **b == v_cache.buffer)
    {
        return Err(GpuError::Shape(
            "kv_store: k_cache, v_cache and the new rows must be four buffers".into(),
        ));
    }
    let pipeline = gpu.pipeline(Kernel::KvStore, None, &[("WG_SIZE", WG_SIZE)])?;
    let params = KvStoreParams {
        kv_dim: kv_dim as u32,
        n_tokens: n_tokens as u32,
        n_ctx: n_ctx as u32,
        _pad: 0,
    };
    let p = uniform(gpu, "kv_store params", &params);
    Ok(vec![Op {
        bind_group: bind(
            gpu,
            &pipeline,
            "kv_store",
            &[
                &k.buffer,
                &v.buffer,
                &k_cache.buffer,
                &v_cache.buffer,
                step,
                &p,
            ],
        ),
        pipeline,
        groups: groups_2d((n as u32).div_ceil(WG_SIZE)),
    }])
}
