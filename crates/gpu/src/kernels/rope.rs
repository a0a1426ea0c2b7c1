//! Wrapper of rope.wgsl: rotary position embedding of q or k heads, in place, and the tables
//! of rotation speeds it reads (a model's, and its sliding-window layers').

use hearth_model::Config;
use hearth_model::ops::RopeParams;

use super::{Op, bind, groups_2d, uniform};
use crate::{Gpu, GpuError, GpuTensor, Kernel, Result};

/// Invocations per workgroup (one per rotated pair).
const WG_SIZE: u32 = 256;

/// Significant bits of the `hi` and `mid` parts of a speed: pos · part is exact in f32 for
/// positions below 2^(24 − SPLIT_BITS) = 131072.
const SPLIT_BITS: u32 = 7;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct RopeParamsGpu {
    n_tokens: u32,
    n_heads: u32,
    head_pairs: u32,
    rope_pairs: u32,
}

/// RoPE's rotation speed of each pair i < dim / 2, in turns per position
/// (θ_i(pos = 1) / 2π, from [`RopeParams::theta`] in f64, so base, freq_scale and the Llama 3
/// frequency factors are in it), stored as three f32 `hi + mid + lo` (plus one pad) so that
/// rope.wgsl can reduce pos · speed to a fraction of a turn without rounding. Made once per
/// model.
pub struct RopeFreqs {
    /// dim / 2 × [hi, mid, lo, 0].
    pub table: GpuTensor,
    /// Rotated dims per head (`llama.rope.dimension_count`).
    pub dim: usize,
    /// NeoX pairs (i, i + dim/2) rather than adjacent ones (`RopeParams::neox`).
    pub neox: bool,
}

impl RopeFreqs {
    /// The table of `rope`. Errors on an odd or zero dim, a base or frequency factor that
    /// is not positive and finite, or fewer than dim / 2 factors.
    pub fn new(gpu: &Gpu, rope: &RopeParams) -> Result<RopeFreqs> {
        let pairs = rope.dim / 2;
        let factors_ok = rope.freq_factors.as_ref().is_none_or(|f| {
            f.len() >= pairs && f[..pairs].iter().all(|v| v.is_finite() && *v > 0.0)
        });
        let positive = |v: f32| v.is_finite() && v > 0.0;
        if pairs == 0
            || !rope.dim.is_multiple_of(2)
            || !positive(rope.base)
            || !positive(rope.freq_scale)
            || !factors_ok
        {
            return Err(GpuError::Shape(format!(
                "RoPE over {} dims with base {}, freq_scale {} and {} frequency factors",
                rope.dim,
                rope.base,
                rope.freq_scale,
                rope.freq_factors.as_ref().map_or(0, Vec::len)
            )));
        }
        let table: Vec<f32> = (0..pairs)
            .flat_map(|i| {
                let g = rope.theta(1, i) / std::f64::consts::TAU;
                let hi = truncate(g);
                let mid = truncate(g - hi);
                [hi as f32, mid as f32, (g - hi - mid) as f32, 0.0]
            })
            .collect();
        Ok(RopeFreqs {
            table: GpuTensor::from_slice(gpu, &table, "rope freqs"),
            dim: rope.dim,
            neox: rope.neox,
        })
    }
}

/// A model's two RoPE tables: its layers' ([`Config::rope`], with the frequency factors of
/// `rope_freqs.weight`) and its sliding-window layers' ([`Config::rope_local`]: Gemma 3's
/// own base, no scaling, no factors), which the architecture's block picks per layer
/// (`Backend::rope`'s `local`). rope.wgsl and rope_store.wgsl bind one or the other. Made
/// once per model.
pub struct Ropes {
    pub global: RopeFreqs,
    pub local: RopeFreqs,
}

impl Ropes {
    /// The tables of `c`'s model, whose weights carry the frequency divisors `freq_factors`
    /// (if any). Errors as [`RopeFreqs::new`].
    pub fn new(gpu: &Gpu, c: &Config, freq_factors: Option<&[f32]>) -> Result<Ropes> {
        Ok(Ropes {
            global: RopeFreqs::new(gpu, &c.rope(freq_factors))?,
            local: RopeFreqs::new(gpu, &c.rope_local())?,
        })
    }

    /// The sliding-window layers' table when `local`, else the model's.
    pub fn pick(&self, local: bool) -> &RopeFreqs {
        if local { &self.local } else { &self.global }
    }
}

/// `v` rounded toward zero to [`SPLIT_BITS`] significant bits (exact in f32 for any speed
/// RoPE uses).
fn truncate(v: f64) -> f64 {
    f64::from_bits(v.to_bits() & !((1u64 << (53 - SPLIT_BITS)) - 1))
}

/// Rotates, in place, the first `freqs.dim` dims of each head of `x` (`n_tokens` ×
/// `n_heads` × `head_dim`) by the angles of positions step.pos + t, where `step` is a
/// [`Step`](super::Step) buffer read when the op runs (exact angle reduction for positions
/// below 131072). Twin: `hearth_model::ops::rope` of each token.
pub fn rope(
    gpu: &Gpu,
    x: &GpuTensor,
    freqs: &RopeFreqs,
    step: &wgpu::Buffer,
    n_tokens: usize,
    n_heads: usize,
    head_dim: usize,
) -> Result<Vec<Op>> {
    let n = n_tokens.saturating_mul(n_heads).saturating_mul(head_dim);
    if !head_dim.is_multiple_of(2) || freqs.dim > head_dim || x.len < n || n > u32::MAX as usize {
        return Err(GpuError::Shape(format!(
            "rope of {n_tokens} tokens × {n_heads} heads × {head_dim} over {} dims \
             with x of {}",
            freqs.dim, x.len
        )));
    }
    let neox = u32::from(freqs.neox);
    let pipeline = gpu.pipeline(Kernel::Rope, None, &[("WG_SIZE", WG_SIZE), ("NEOX", neox)])?;
    let params = RopeParamsGpu {
        n_tokens: n_tokens as u32,
        n_heads: n_heads as u32,
        head_pairs: (head_dim / 2) as u32,
        rope_pairs: (freqs.dim / 2) as u32,
    };
    let p = uniform(gpu, "rope params", &params);
    let pairs = (n_tokens * n_heads * freqs.dim / 2) as u32;
    Ok(vec![Op {
        bind_group: bind(
            gpu,
            &pipeline,
            "rope",
            &[&x.buffer, &freqs.table.buffer, step, &p],
        ),
        pipeline,
        groups: groups_2d(pairs.div_ceil(WG_SIZE)),
        indirect: None,
    }])
}
