//! Wrapper of rope_store.wgsl: RoPE of q and k and the KV store, one dispatch.

use super::{KvType, Op, RopeFreqs, bind, groups_2d, uniform};
use crate::{Gpu, GpuError, GpuTensor, Kernel, Result};

/// Invocations per workgroup (one per vec4 of q, or of k and v).
const WG_SIZE: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct RopeStoreParams {
    n_tokens: u32,
    q_vec4: u32,
    kv_vec4: u32,
    head_vec4: u32,
    rope_pairs: u32,
    n_ctx: u32,
    _pad: [u32; 2],
}

/// The heads of the q and k rows RoPE rotates.
#[derive(Clone, Copy, Debug)]
pub struct RopeHeads {
    pub n_q_heads: usize,
    pub n_kv_heads: usize,
    /// A multiple of 4.
    pub head_dim: usize,
}

/// What [`rope`](super::rope) on `q`, `rope` on `k` and [`kv_store`](super::kv_store) of
/// `k` and `v` do, in one dispatch: q rotated in place, k rotated into the cache with v
/// (`k` unchanged), for the `n_tokens` tokens at positions step.pos + t (`step` a
/// [`Step`](super::Step) buffer read when the op runs). Twin: `hearth_model::ops::rope`,
/// then a copy into the cache.
#[allow(clippy::too_many_arguments)] // the rows, the caches, the angles, the step and the shape
pub fn rope_store(
    gpu: &Gpu,
    [q, k, v]: [&GpuTensor; 3],
    [k_cache, v_cache]: [&GpuTensor; 2],
    kv: KvType,
    freqs: &RopeFreqs,
    step: &wgpu::Buffer,
    n_tokens: usize,
    h: RopeHeads,
) -> Result<Vec<Op>> {
    let q_dim = h.n_q_heads.saturating_mul(h.head_dim);
    let kv_dim = h.n_kv_heads.saturating_mul(h.head_dim);
    let n_ctx = k_cache
        .len
        .saturating_mul(kv.per_word())
        .checked_div(kv_dim)
        .unwrap_or(0);
    let invocations = n_tokens.saturating_mul(q_dim.saturating_add(kv_dim)) / 4;
    if h.head_dim == 0
        || !h.head_dim.is_multiple_of(4)
        || freqs.dim > h.head_dim
        || q.len < n_tokens.saturating_mul(q_dim)
        || k.len < n_tokens.saturating_mul(kv_dim)
        || v.len < n_tokens.saturating_mul(kv_dim)
        || v_cache.len < kv.words(n_ctx * kv_dim)
        || invocations > u32::MAX as usize
        || k_cache.len > u32::MAX as usize
    {
        return Err(GpuError::Shape(format!(
            "rope_store of {n_tokens} tokens, {h:?}, RoPE over {} dims, with q of {}, k of {}, \
             v of {}, k_cache of {} and v_cache of {}",
            freqs.dim, q.len, k.len, v.len, k_cache.len, v_cache.len
        )));
    }
    let bufs = [
        &q.buffer,
        &k.buffer,
        &v.buffer,
        &k_cache.buffer,
        &v_cache.buffer,
    ];
    let distinct = bufs
        .iter()
        .enumerate()
        .all(|(i, a)| bufs[i + 1..].iter().all(|b| a != b));
    if !distinct {
        return Err(GpuError::Shape(
            "rope_store: q, k, v and the two caches must be five buffers".into(),
        ));
    }
    let pipeline = gpu.pipeline(
        Kernel::RopeStore,
        Some(kv.format()),
        &[("WG_SIZE", WG_SIZE)],
    )?;
    let params = RopeStoreParams {
        n_tokens: n_tokens as u32,
        q_vec4: (q_dim / 4) as u32,
        kv_vec4: (kv_dim / 4) as u32,
        head_vec4: (h.head_dim / 4) as u32,
        rope_pairs: (freqs.dim / 2) as u32,
        n_ctx: n_ctx as u32,
        _pad: [0; 2],
    };
    let p = uniform(gpu, "rope_store params", &params);
    let [kc, vc] = [&k_cache.buffer, &v_cache.buffer];
    Ok(vec![Op {
        bind_group: bind(
            gpu,
            &pipeline,
            "rope_store",
            &[
                bufs[0],
                bufs[1],
                bufs[2],
                kc,
                vc,
                &freqs.table.buffer,
                step,
                &p,
            ],
        ),
        pipeline,
        groups: groups_2d((invocations as u32).div_ceil(WG_SIZE)),
        indirect: None,
    }])
}
