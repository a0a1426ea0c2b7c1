//! The activations' own ops, and the activations quantized for the dot products.
//!
//! Elementwise: the gated FFN's `f(gate) · up` for f = [`silu`] or [`gelu`]
//! ([`gated_mul`], shared out among the threads) and the post-norm residual
//! [`norm_add`], each the engine's twin of the `hearth_model::ops` op of the same name.
//!
//! Quantized: 16 bits per 32-value block for the integer dot products:
//! x ≈ d · q with q ∈ [−32767, 32767] and d = max|x| / 32767, plus the block's half sums
//! d · Σq (over values 0..16 and 16..32) that the weights' min terms need.
//!
//! llama.cpp's CPU path quantizes to 8 bits. Measured on SmolLM2-135M Q4_1, that moves
//! logits by up to ≈ 2.6 from exact math (llama.cpp itself, against the f32 reference) and
//! flips near-ties: both answer "L'Étoile…" where the model says "The capital of France
//! is Paris.". 16 bits keep the CPU engine within ≈ 1e-3 of the reference at a small cost
//! (one more multiply per 16 weights on x86; none in wasm, which widens to 16 bits anyway).

use crate::kernel::Out;
use crate::pool::{Pool, share};

/// silu(z) = z / (1 + e^(−z)) (SwiGLU's gate).
#[inline]
pub fn silu(z: f32) -> f32 {
    z / (1.0 + (-z).exp())
}

/// GELU in its tanh form, gelu(z) = z/2 · (1 + tanh(√(2/π) · (z + 0.044715 z³))) (GeGLU's
/// gate: GGML's `gelu`, Gemma's `gelu_pytorch_tanh`), in the same f32 steps as
/// `hearth_model::ops::gelu`.
#[inline]
pub fn gelu(z: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * z * (1.0 + (SQRT_2_OVER_PI * z * (1.0 + 0.044715 * z * z)).tanh())
}

/// out = f(gate) · up elementwise (equal lengths), shared out among `pool`'s threads in
/// runs of 64 values.
pub fn gated_mul(
    pool: &Pool,
    out: &mut [f32],
    gate: &[f32],
    up: &[f32],
    f: impl Fn(f32) -> f32 + Sync,
) {
    let len = out.len();
    assert!(gate.len() == len && up.len() == len);
    let dst = Out {
        ptr: out.as_mut_ptr(),
        stride: 0,
        accumulate: false,
    };
    let threads = pool.threads();
    pool.run(&|i| {
        for j in share(len, i, threads, 64) {
            // SAFETY: element j (< len, asserted) is this thread's alone
            unsafe { dst.put(0, j, f(gate[j]) * up[j]) };
        }
    });
}

/// x += rms_norm(y) · w = y / sqrt(mean(y²) + eps) · w, for one row (a post-norm and its
/// residual), in the steps of `hearth_model::ops::rms_norm` without its buffer.
pub fn norm_add(x: &mut [f32], y: &[f32], w: &[f32], eps: f32) {
    let ss = y.iter().map(|v| v * v).sum::<f32>() / y.len() as f32;
    let scale = 1.0 / (ss + eps).sqrt();
    for ((xi, &yi), &wi) in x.iter_mut().zip(y).zip(w) {
        *xi += yi * scale * wi;
    }
}

/// Values per activation block.
pub const QK: usize = 32;

/// One block of 32 activations: x[i] ≈ d · qs[i].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C, align(32))]
pub struct BlockQ16 {
    pub qs: [i16; QK],
    pub d: f32,
    /// d · Σ qs over each half (values 0..16, 16..32)
    pub s: [f32; 2],
}

/// Quantizes `x` into `out`, one block per 32 values; a last partial block is padded with
/// zeros (`out.len()` == ceil(x.len() / 32)).
pub fn quantize(x: &[f32], out: &mut [BlockQ16]) {
    debug_assert_eq!(out.len(), x.len().div_ceil(QK));
    for (xs, o) in x.chunks(QK).zip(out.iter_mut()) {
        let mut v = [0f32; QK];
        v[..xs.len()].copy_from_slice(xs);
        *o = quantize_block(&v);
    }
}

/// One block: x / d rounded to nearest.
#[inline]
pub fn quantize_block(v: &[f32; QK]) -> BlockQ16 {
    let amax = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let d = amax / 32767.0;
    let id = if d > 0.0 { 1.0 / d } else { 0.0 };
    // round to nearest by the float trick (|x · id| ≤ 32767 < 2^22; ties to even), which
    // vectorizes where `round` is a library call
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23
    let mut qs = [0i16; QK];
    for (q, &x) in qs.iter_mut().zip(v) {
        *q = ((x * id + MAGIC) - MAGIC) as i16;
    }
    let half = |h: usize| {
        qs[16 * h..16 * h + 16]
            .iter()
            .map(|&q| q as i32)
            .sum::<i32>()
    };
    BlockQ16 {
        qs,
        d,
        s: [d * half(0) as f32, d * half(1) as f32],
    }
}
