//! Wrappers of attn_decode.wgsl + attn_combine.wgsl (flash-decoding of one token) and
//! attn_prefill.wgsl (causal attention of many tokens), over one layer's KV cache: `k_cache`
//! and `v_cache`, n_ctx × kv_dim floats each, row p = position p, kv_dim = n_head_kv ·
//! head_dim. Query head h reads KV head h / (n_head / n_head_kv) (MHA, GQA and MQA alike).
//! With a `window` of w positions, the token at position p sees rows p + 1 − w ..= p only
//! (sliding-window attention; rows from 0 when p < w); without one, rows 0 ..= p.

use super::{KvType, MAX_GROUPS, Op, bind, uniform};
use crate::{Gpu, GpuError, GpuTensor, Kernel, Result};
use wgpu::util::DeviceExt;

/// Cache positions per flash-decoding split (attn_decode's `SPLIT`). The decode dispatch is
/// recorded once for the whole cache and launched indirectly over the filled splits
/// ([`AttnPartials::set_kv_len`]). Larger splits launch fewer workgroups but leave a GPU
/// underfed at moderate lengths (9 heads, 2048 positions: 72 workgroups with 256, 36 with
/// 512) and make each workgroup's serial work longer. 256 balances the two.
pub const ATTN_SPLIT: u32 = 256;

/// Invocations per workgroup of attn_decode and attn_combine; a head is at most
/// 4 · 64 = 256 floats.
const DECODE_WG: u32 = 64;
/// Largest head_dim the kernels take.
const MAX_HEAD_DIM: usize = 256;
/// Invocations per prefill workgroup at most: BQ queries × head_dim / 4.
const PREFILL_WG: u32 = 256;
/// vec4s in one prefill k (or v) tile at most, BK × head_dim / 4, so that the q block, both
/// tiles, the score parts and the weights stay within WebGPU's 16 KiB of workgroup memory
/// (14 KiB at most).
const PREFILL_TILE: u32 = 256;

/// The heads of one layer's attention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttnHeads {
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads; divides `n_head`.
    pub n_head_kv: usize,
    /// Floats per head: a multiple of 4, at most 256.
    pub head_dim: usize,
}

impl AttnHeads {
    /// Floats per cache row: n_head_kv · head_dim.
    pub fn kv_dim(&self) -> usize {
        self.n_head_kv * self.head_dim
    }

    /// Floats per token of q and of the output: n_head · head_dim.
    pub fn q_dim(&self) -> usize {
        self.n_head * self.head_dim
    }

    /// Rows of a cache of `len` floats, after checking the heads and that `len` is whole
    /// rows that one binding can hold.
    fn cache_rows(&self, gpu: &Gpu, what: &str, cache: &GpuTensor, kv: KvType) -> Result<usize> {
        let len = cache.len.saturating_mul(kv.per_word());
        let ok = self.n_head > 0
            && self.n_head_kv > 0
            && self.n_head.is_multiple_of(self.n_head_kv)
            && self.head_dim > 0
            && self.head_dim.is_multiple_of(4)
            && self.head_dim <= MAX_HEAD_DIM
            && self.n_head <= MAX_GROUPS as usize;
        if !ok {
            return Err(GpuError::Shape(format!(
                "{what}: {} query heads over {} KV heads of {} floats (heads must divide \
                 evenly, head_dim be a multiple of 4 up to {MAX_HEAD_DIM})",
                self.n_head, self.n_head_kv, self.head_dim
            )));
        }
        let rows = len / self.kv_dim();
        if rows == 0 || rows * self.kv_dim() != len {
            return Err(GpuError::Shape(format!(
                "{what}: a cache of {len} values is not whole rows of {}",
                self.kv_dim()
            )));
        }
        if (cache.len * 4) as u64 > gpu.max_binding_bytes || len > u32::MAX as usize {
            return Err(GpuError::TooLarge(format!(
                "{what}: a KV cache of {} bytes is above the binding limit {}",
                cache.len * 4,
                gpu.max_binding_bytes
            )));
        }
        Ok(rows)
    }
}

/// The flash-decoding splits of every head, written by [`attn_decode`] and read by
/// [`attn_combine`]: for each head, for each split of [`ATTN_SPLIT`] positions, a record
/// of 4 + head_dim floats, `[m, l, 0, 0]` then `o` (see attn_decode.wgsl). A split past
/// the filled cache is marked empty: m = −f32::MAX, l = 0. Made once per model, shared by
/// the layers.
pub struct AttnPartials {
    /// The records, head-major: record (h, s) starts at float (h · n_splits + s) · (4 + head_dim).
    pub tensor: GpuTensor,
    /// The heads they are for.
    pub heads: AttnHeads,
    /// Rows of the caches they cover.
    pub n_ctx: usize,
    /// Splits per head: ceil(n_ctx / ATTN_SPLIT).
    pub n_splits: usize,
    /// attn_decode's workgroup counts (n_head, splits, 1), read when it runs: every
    /// split until [`AttnPartials::set_kv_len`] narrows them to the filled ones.
    pub dispatch: wgpu::Buffer,
}

impl AttnPartials {
    /// A zeroed partials buffer for caches of `n_ctx` rows.
    pub fn new(gpu: &Gpu, heads: AttnHeads, n_ctx: usize) -> AttnPartials {
        let n_splits = n_ctx.div_ceil(ATTN_SPLIT as usize).max(1);
        let dispatch = gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("attn_decode workgroups"),
                contents: bytemuck::cast_slice(&[heads.n_head as u32, n_splits as u32, 1]),
                usage: wgpu::BufferUsages::INDIRECT | wgpu::BufferUsages::COPY_DST,
            });
        AttnPartials {
            dispatch,
            tensor: GpuTensor::zeros(
                gpu,
                heads.n_head * n_splits * (4 + heads.head_dim),
                "attention partials",
            ),
            heads,
            n_ctx,
            n_splits,
        }
    }

    /// Makes the next attn_decode dispatches (in queue order) cover only the splits that
    /// hold some of `kv_len` positions: a short cache launches a few workgroups, not
    /// n_ctx / ATTN_SPLIT per head (each of which would otherwise start, find nothing,
    /// and on a browser first zero its workgroup memory). attn_combine reads no further.
    pub fn set_kv_len(&self, gpu: &Gpu, kv_len: usize) {
        let used = kv_len
            .min(self.n_ctx)
            .div_ceil(ATTN_SPLIT as usize)
            .clamp(1, self.n_splits);
        let counts = [self.heads.n_head as u32, used as u32, 1];
        gpu.queue
            .write_buffer(&self.dispatch, 0, bytemuck::cast_slice(&counts));
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct DecodeParams {
    n_rep: u32,
    head_vec4: u32,
    row_vec4: u32,
    n_ctx: u32,
    n_splits: u32,
    scale: f32,
    window: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct CombineParams {
    head_vec4: u32,
    n_ctx: u32,
    n_splits: u32,
    window: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PrefillParams {
    n_head: u32,
    n_rep: u32,
    row_vec4: u32,
    n_ctx: u32,
    scale: f32,
    window: u32,
    _pad: [u32; 2],
}

/// The softmax scale, 1/√head_dim, computed as the CPU twin computes it.
fn scale(head_dim: usize) -> f32 {
    1.0 / (head_dim as f32).sqrt()
}

/// The kernels' `window` param: positions a token sees, itself included (u32::MAX: every
/// one, which no cache reaches). A window of no positions is an error.
fn window_param(what: &str, window: Option<usize>) -> Result<u32> {
    match window {
        None => Ok(u32::MAX),
        Some(0) => Err(GpuError::Shape(format!(
            "{what}: a sliding window of 0 positions"
        ))),
        Some(w) => Ok(w.min(u32::MAX as usize) as u32),
    }
}

/// Flash-decoding, first half, for the token at position step.pos (kv_len = step.pos + 1,
/// read when the op runs, 1 ≤ kv_len ≤ n_ctx): for each query head and each split of
/// [`ATTN_SPLIT`] cache rows, the split's max score, sum of weights and weighted sum of
/// values over its rows the token sees (below kv_len, and with a `window` of w the last w
/// of them), into `partials` (made for these heads and this cache length). `q` holds
/// n_head · head_dim floats (after RoPE); `k_cache` and `v_cache` n_ctx rows of kv_dim
/// values of type `kv`, this token's row already stored. Follow it with [`attn_combine`]
/// of the same window.
/// Twin (of both): `hearth_model::ops::attention` of each head over rows
/// kv_len − min(w, kv_len) .. kv_len.
#[allow(clippy::too_many_arguments)] // the tensors, the partials, the step and the window
pub fn attn_decode(
    gpu: &Gpu,
    q: &GpuTensor,
    k_cache: &GpuTensor,
    v_cache: &GpuTensor,
    kv: KvType,
    partials: &AttnPartials,
    step: &wgpu::Buffer,
    window: Option<usize>,
) -> Result<Vec<Op>> {
    let h = partials.heads;
    let window = window_param("attn_decode", window)?;
    let n_ctx = h.cache_rows(gpu, "attn_decode", k_cache, kv)?;
    if v_cache.len != k_cache.len || n_ctx != partials.n_ctx || q.len < h.q_dim() {
        return Err(GpuError::Shape(format!(
            "attn_decode: q of {} for {} heads of {}, k_cache of {}, v_cache of {}, \
             partials for {} rows",
            q.len, h.n_head, h.head_dim, k_cache.len, v_cache.len, partials.n_ctx
        )));
    }
    let pipeline = gpu.pipeline(
        Kernel::AttnDecode,
        Some(kv.format()),
        &[("WG_SIZE", DECODE_WG), ("SPLIT", ATTN_SPLIT)],
    )?;
    let params = DecodeParams {
        n_rep: (h.n_head / h.n_head_kv) as u32,
        head_vec4: (h.head_dim / 4) as u32,
        row_vec4: (h.kv_dim() / 4) as u32,
        n_ctx: n_ctx as u32,
        n_splits: partials.n_splits as u32,
        scale: scale(h.head_dim),
        window,
        _pad: 0,
    };
    let p = uniform(gpu, "attn_decode params", &params);
    Ok(vec![Op {
        bind_group: bind(
            gpu,
            &pipeline,
            "attn_decode",
            &[
                &q.buffer,
                &k_cache.buffer,
                &v_cache.buffer,
                &partials.tensor.buffer,
                step,
                &p,
            ],
        ),
        pipeline,
        groups: [h.n_head as u32, partials.n_splits as u32, 1],
        indirect: Some(partials.dispatch.clone()),
    }])
}

/// Flash-decoding, second half: out[h, :] = Σ_s e^(m_s − M) · o_s / Σ_s e^(m_s − M) · l_s
/// over the splits of head h that [`attn_decode`] (of the same `window`) filled for
/// kv_len = step.kv_len (read when the op runs), M = max_s m_s. `out` holds n_head ·
/// head_dim floats.
pub fn attn_combine(
    gpu: &Gpu,
    partials: &AttnPartials,
    out: &GpuTensor,
    step: &wgpu::Buffer,
    window: Option<usize>,
) -> Result<Vec<Op>> {
    let h = partials.heads;
    let window = window_param("attn_combine", window)?;
    if out.len < h.q_dim() || out.buffer == partials.tensor.buffer {
        return Err(GpuError::Shape(format!(
            "attn_combine: out of {} for {} heads of {} (and not the partials)",
            out.len, h.n_head, h.head_dim
        )));
    }
    let pipeline = gpu.pipeline(
        Kernel::AttnCombine,
        None,
        &[("WG_SIZE", DECODE_WG), ("SPLIT", ATTN_SPLIT)],
    )?;
    let params = CombineParams {
        head_vec4: (h.head_dim / 4) as u32,
        n_ctx: partials.n_ctx as u32,
        n_splits: partials.n_splits as u32,
        window,
    };
    let p = uniform(gpu, "attn_combine params", &params);
    Ok(vec![Op {
        bind_group: bind(
            gpu,
            &pipeline,
            "attn_combine",
            &[&partials.tensor.buffer, &out.buffer, step, &p],
        ),
        pipeline,
        groups: [h.n_head as u32, 1, 1],
        indirect: None,
    }])
}

/// Prefill tiling for heads of `head_vec4` vec4s: (BQ queries per workgroup, BK keys per
/// tile). One invocation per vec4 of each query's output, so BQ = 256 / head_vec4; BK is the
/// largest divisor of head_vec4 whose tile fits [`PREFILL_TILE`] (head_dim 64: 16 × 16,
/// 128: 8 × 8, 256: 4 × 4).
fn prefill_tiles(head_vec4: u32) -> (u32, u32) {
    let bq = (PREFILL_WG / head_vec4).max(1);
    let bk = (1..=head_vec4)
        .rev()
        .find(|b| head_vec4.is_multiple_of(*b) && b * head_vec4 <= PREFILL_TILE)
        .unwrap_or(1);
    (bq, bk)
}

/// Causal attention of step.n_tokens new tokens (read when the op runs, at most
/// `max_tokens`, with step.pos + n_tokens ≤ n_ctx): token t at position p = step.pos + t
/// attends to cache rows 0 ..= p (with a `window` of w, to rows p + 1 − min(w, p + 1) ..= p),
/// so a prompt (pos = 0) and a later turn that extends the cache (pos > 0) are the same
/// op. `q` and `out` hold max_tokens × n_head × head_dim floats (token-major); `k_cache`
/// and `v_cache` n_ctx rows of kv_dim values of type `kv`, this call's rows already
/// stored. Twin: `hearth_model::ops::attention` of each head of each token over its rows.
#[allow(clippy::too_many_arguments)] // the tensors, the step, the heads, capacity and window
pub fn attn_prefill(
    gpu: &Gpu,
    heads: AttnHeads,
    q: &GpuTensor,
    k_cache: &GpuTensor,
    v_cache: &GpuTensor,
    kv: KvType,
    out: &GpuTensor,
    step: &wgpu::Buffer,
    max_tokens: usize,
    window: Option<usize>,
) -> Result<Vec<Op>> {
    let n_ctx = heads.cache_rows(gpu, "attn_prefill", k_cache, kv)?;
    let window = window_param("attn_prefill", window)?;
    let head_vec4 = (heads.head_dim / 4) as u32;
    let (bq, bk) = prefill_tiles(head_vec4);
    let n = max_tokens.saturating_mul(heads.q_dim());
    let blocks = max_tokens.div_ceil(bq as usize);
    if v_cache.len != k_cache.len
        || q.len < n
        || out.len < n
        || max_tokens == 0
        || blocks > MAX_GROUPS as usize
        || out.buffer == q.buffer
    {
        return Err(GpuError::Shape(format!(
            "attn_prefill of {max_tokens} tokens × {} heads of {}: q of {}, out of {} \
             (two buffers), k_cache of {}, v_cache of {}",
            heads.n_head, heads.head_dim, q.len, out.len, k_cache.len, v_cache.len
        )));
    }
    let pipeline = gpu.pipeline(
        Kernel::AttnPrefill,
        Some(kv.format()),
        &[("HEAD_VEC4", head_vec4), ("BQ", bq), ("BK", bk)],
    )?;
    let params = PrefillParams {
        n_head: heads.n_head as u32,
        n_rep: (heads.n_head / heads.n_head_kv) as u32,
        row_vec4: (heads.kv_dim() / 4) as u32,
        n_ctx: n_ctx as u32,
        scale: scale(heads.head_dim),
        window,
        _pad: [0; 2],
    };
    let p = uniform(gpu, "attn_prefill params", &params);
    Ok(vec![Op {
        bind_group: bind(
            gpu,
            &pipeline,
            "attn_prefill",
            &[
                &q.buffer,
                &k_cache.buffer,
                &v_cache.buffer,
                &out.buffer,
                step,
                &p,
            ],
        ),
        pipeline,
        groups: [heads.n_head as u32, blocks as u32, 1],
        indirect: None,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefill_tiles_fit_the_limits() {
        for head_vec4 in 1..=(MAX_HEAD_DIM as u32 / 4) {
            let (bq, bk) = prefill_tiles(head_vec4);
            let wg = bq * head_vec4;
            assert!(
                wg <= PREFILL_WG && wg > PREFILL_WG / 2,
                "{head_vec4}: {bq} queries"
            );
            assert!(head_vec4.is_multiple_of(bk), "{head_vec4}: BK {bk}");
            // q block + k and v tiles (vec4s) + score parts + weights (floats), in bytes
            let bytes = 16 * (wg + 2 * bk * head_vec4) + 4 * (wg + bq * bk);
            assert!(bytes <= 16384, "{head_vec4}: {bytes} bytes");
        }
        assert_eq!(prefill_tiles(16), (16, 16));
        assert_eq!(prefill_tiles(32), (8, 8));
        assert_eq!(prefill_tiles(64), (4, 4));
    }
}
