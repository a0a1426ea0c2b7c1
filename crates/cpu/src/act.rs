//! Activations quantized to 16 bits per 32-value block for the integer dot products:
//! x ≈ d · q with q ∈ [−32767, 32767] and d = max|x| / 32767, plus the block's half sums
//! d · Σq (over values 0..16 and 16..32) that the weights' min terms need.
//!
//! llama.cpp's CPU path quantizes to 8 bits. Measured on SmolLM2-135M Q4_1, that moves
//! logits by up to ≈ 2.6 from exact math (llama.cpp itself, against the f32 reference) and
//! flips near-ties: both answer "L'Étoile…" where the model says "The capital of France
//! is Paris.". 16 bits keep the CPU engine within ≈ 1e-3 of the reference at a small cost
//! (one more multiply per 16 weights on x86; none in wasm, which widens to 16 bits anyway).

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
