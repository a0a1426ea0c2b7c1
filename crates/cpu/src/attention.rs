//! Causal attention over the KV cache and RoPE, for a batch of tokens.

use hearth_model::ops::{RopeParams, dot};

/// One KV head's keys and values in a layer's cache: position p's key is
/// `k[p * stride + offset..][..head_dim]`, likewise its value.
pub struct KvHead<'a> {
    pub k: &'a [f32],
    pub v: &'a [f32],
    pub stride: usize,
    pub offset: usize,
}

/// One query head over `seen` cached positions: out = softmax(q·Kᵀ/√d) · V. `scores` is
/// scratch.
pub fn head(out: &mut [f32], q: &[f32], kv: &KvHead, seen: usize, scores: &mut Vec<f32>) {
    #[cfg(target_arch = "x86_64")]
    if crate::kernel::avx2_on() {
        // SAFETY: the CPU has the features
        return unsafe { head_avx2(out, q, kv, seen, scores) };
    }
    head_body(out, q, kv, seen, scores)
}

/// [`head`] compiled for AVX2 (the same loops, vectorized 8 wide by the compiler).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn head_avx2(out: &mut [f32], q: &[f32], kv: &KvHead, seen: usize, scores: &mut Vec<f32>) {
    head_body(out, q, kv, seen, scores)
}

#[inline(always)]
fn head_body(out: &mut [f32], q: &[f32], kv: &KvHead, seen: usize, scores: &mut Vec<f32>) {
    let KvHead {
        k,
        v,
        stride,
        offset,
    } = *kv;
    let d = q.len();
    let scale = 1.0 / (d as f32).sqrt();
    scores.clear();
    scores.extend((0..seen).map(|p| dot(q, &k[p * stride + offset..][..d]) * scale));
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    let inv = 1.0 / sum;
    out.fill(0.0);
    for (p, &a) in scores.iter().enumerate() {
        let a = a * inv;
        for (o, &vi) in out.iter_mut().zip(&v[p * stride + offset..][..d]) {
            *o += a * vi;
        }
    }
}

/// cos and sin of every rotated pair at each position, computed once per position (in
/// f64, like the reference) and kept.
#[derive(Debug, Default, Clone)]
pub struct RopeTable {
    half: usize,
    cs: Vec<(f32, f32)>, // (positions, half)
}

impl RopeTable {
    /// The table for `p`'s pairs, empty.
    pub fn new(p: &RopeParams) -> RopeTable {
        RopeTable {
            half: p.dim / 2,
            cs: Vec::new(),
        }
    }
    /// Makes sure positions below `end` are in the table.
    pub fn extend(&mut self, p: &RopeParams, end: usize) {
        let have = self.cs.len() / self.half.max(1);
        for pos in have..end {
            for i in 0..self.half {
                let (s, c) = p.theta(pos, i).sin_cos();
                self.cs.push((c as f32, s as f32));
            }
        }
    }
    /// Rotates adjacent pairs of each `head_dim` head of `x` for position `pos`.
    pub fn apply(&self, x: &mut [f32], head_dim: usize, pos: usize) {
        let cs = &self.cs[pos * self.half..(pos + 1) * self.half];
        for head in x.chunks_exact_mut(head_dim) {
            for (pair, &(c, s)) in head.chunks_exact_mut(2).zip(cs) {
                let (a, b) = (pair[0], pair[1]);
                pair[0] = a * c - b * s;
                pair[1] = a * s + b * c;
            }
        }
    }
}
