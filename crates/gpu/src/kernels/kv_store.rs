//! Wrapper of kv_store.wgsl: this call's keys and values into one layer's KV cache.

use hearth_gguf::GgmlType;

use super::{Op, bind, groups_2d, uniform};
use crate::{Gpu, GpuError, GpuTensor, Kernel, Result};

/// How the KV cache holds its values (WGSL: `#include kv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KvType {
    /// One f32 per value: exact.
    F32,
    /// One f16 per value, two to a word: half the memory and reads, values rounded to f16.
    F16,
}

impl KvType {
    /// Values per 4-byte word of the cache's buffer.
    pub fn per_word(self) -> usize {
        match self {
            KvType::F32 => 1,
            KvType::F16 => 2,
        }
    }

    /// Words of a cache of `values` values.
    pub fn words(self, values: usize) -> usize {
        values.div_ceil(self.per_word())
    }

    /// The pipeline format that selects the WGSL of this type.
    pub(crate) fn format(self) -> GgmlType {
        match self {
            KvType::F32 => GgmlType::F32,
            KvType::F16 => GgmlType::F16,
        }
    }
}

/// Invocations per workgroup (one per vec4 of k).
const WG_SIZE: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct KvStoreParams {
    row_vec4: u32,
    n_tokens: u32,
    n_ctx: u32,
    _pad: u32,
}

/// Copies `k` and `v` (`n_tokens` × `kv_dim` f32 each) into rows `step.pos ..` of `k_cache`
/// and `v_cache` (n_ctx rows of kv_dim values of type `kv` each, n_ctx = the cache's values
/// / kv_dim), where `step` is a [`Step`](super::Step) buffer read when the op runs; rows at
/// or past n_ctx are not written. kv_dim must be a multiple of 4.
#[allow(clippy::too_many_arguments)] // the sources, the caches, the step and the shape
pub fn kv_store(
    gpu: &Gpu,
    k: &GpuTensor,
    v: &GpuTensor,
    k_cache: &GpuTensor,
    v_cache: &GpuTensor,
    kv: KvType,
    step: &wgpu::Buffer,
    n_tokens: usize,
    kv_dim: usize,
) -> Result<Vec<Op>> {
    let values = k_cache.len.saturating_mul(kv.per_word());
    let n_ctx = values.checked_div(kv_dim).unwrap_or(0);
    let n = n_tokens.saturating_mul(kv_dim);
    if kv_dim == 0
        || !kv_dim.is_multiple_of(4)
        || k.len < n
        || v.len < n
        || n > u32::MAX as usize
        || v_cache.len < kv.words(n_ctx * kv_dim)
        || values > u32::MAX as usize
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
    let pipeline = gpu.pipeline(Kernel::KvStore, Some(kv.format()), &[("WG_SIZE", WG_SIZE)])?;
    let params = KvStoreParams {
        row_vec4: (kv_dim / 4) as u32,
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
        groups: groups_2d((n as u32 / 4).div_ceil(WG_SIZE)),
        indirect: None,
    }])
}
