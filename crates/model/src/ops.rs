//! The neural-net blocks of the forward pass as plain f32 loops. Each is the CPU twin of
//! a GPU kernel of the same name, and the math is in its doc line.

/// out = x / sqrt(mean(x²) + eps) · w
pub fn rms_norm(out: &mut [f32], x: &[f32], w: &[f32], eps: f32) {
    let ss = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
    let scale = 1.0 / (ss + eps).sqrt();
    for ((o, &xi), &wi) in out.iter_mut().zip(x).zip(w) {
        *o = xi * scale * wi;
    }
}

/// out[r] = Σ_c w[r, c] · x[c] for a row-major `w` with `x.len()` columns.
pub fn matvec(out: &mut [f32], w: &[f32], x: &[f32]) {
    for (o, row) in out.iter_mut().zip(w.chunks_exact(x.len())) {
        *o = dot(row, x);
    }
}

/// Σ a[i] · b[i], in eight interleaved partial sums (so the compiler can vectorise it;
/// inlinable, so a caller compiled for wider SIMD vectorises it wider).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in a8.zip(b8) {
        for k in 0..8 {
            acc[k] += ca[k] * cb[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Rotates adjacent pairs (x[2i], x[2i+1]) of each head by θ_i = pos · base^(−2i/rope_dim) ·
/// freq_scale / freq_factor[i], for i < rope_dim / 2 (the "normal" GGML RoPE of arch
/// llama). Angles are computed in f64: this is the exact-math reference.
pub fn rope(x: &mut [f32], head_dim: usize, pos: usize, rope: &RopeParams) {
    for head in x.chunks_exact_mut(head_dim) {
        for i in 0..rope.dim / 2 {
            let theta = rope.theta(pos, i);
            let (sin, cos) = theta.sin_cos();
            let (ia, ib) = rope.pair(i);
            let (a, b) = (head[ia] as f64, head[ib] as f64);
            head[ia] = (a * cos - b * sin) as f32;
            head[ib] = (a * sin + b * cos) as f32;
        }
    }
}

/// What RoPE needs: rotated dims, frequency base and scale, Llama 3.1 frequency factors.
#[derive(Debug, Clone, PartialEq)]
pub struct RopeParams {
    pub dim: usize,
    pub base: f32,
    pub freq_scale: f32,
    pub freq_factors: Option<Vec<f32>>,
    /// GGML's NeoX style (Qwen, Gemma): pair i is (x[i], x[i + dim/2]); otherwise the
    /// adjacent (x[2i], x[2i+1]) of Llama.
    pub neox: bool,
}

impl RopeParams {
    /// The two dims of a head that pair `i` (< dim / 2) rotates.
    pub fn pair(&self, i: usize) -> (usize, usize) {
        match self.neox {
            true => (i, i + self.dim / 2),
            false => (2 * i, 2 * i + 1),
        }
    }

    /// The rotation angle of pair `i` at position `pos`.
    pub fn theta(&self, pos: usize, i: usize) -> f64 {
        let inv_freq = (self.base as f64).powf(-2.0 * i as f64 / self.dim as f64);
        let ff = self.freq_factors.as_ref().map_or(1.0, |f| f[i] as f64);
        pos as f64 * inv_freq * self.freq_scale as f64 / ff
    }
}

/// x = softmax(x), subtracting the max first so exp never overflows.
pub fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in x.iter_mut() {
        *v /= sum;
    }
}

/// out = silu(gate) · up, with silu(z) = z / (1 + e^(−z)).
pub fn silu_mul(out: &mut [f32], gate: &[f32], up: &[f32]) {
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        *o = g / (1.0 + (-g).exp()) * u;
    }
}

/// out = gelu(gate) · up, with GELU's tanh form
/// gelu(z) = z/2 · (1 + tanh(√(2/π) · (z + 0.044715 z³))).
pub fn gelu_mul(out: &mut [f32], gate: &[f32], up: &[f32]) {
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        *o = gelu(g) * u;
    }
}

/// GELU, tanh form (what GGML's `gelu` and Gemma's `gelu_pytorch_tanh` compute).
pub fn gelu(z: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * z * (1.0 + (SQRT_2_OVER_PI * z * (1.0 + 0.044715 * z * z)).tanh())
}

/// x += rms_norm(y) · w (a post-norm and its residual).
pub fn norm_add(x: &mut [f32], y: &[f32], w: &[f32], eps: f32) {
    let mut h = vec![0.0; y.len()];
    rms_norm(&mut h, y, w, eps);
    add(x, &h);
}

/// x += y
pub fn add(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// x += b on every `b.len()`-wide row of `x` (a projection's bias).
pub fn add_bias(x: &mut [f32], b: &[f32]) {
    for row in x.chunks_exact_mut(b.len()) {
        add(row, b);
    }
}

/// Each `w.len()`-wide head of `x` RMS-normed in place with gains `w` (Qwen3's q/k norm).
pub fn head_norm(x: &mut [f32], w: &[f32], eps: f32) {
    let mut h = vec![0.0; w.len()];
    for head in x.chunks_exact_mut(w.len()) {
        h.copy_from_slice(head);
        rms_norm(head, &h, w, eps);
    }
}

/// One query head attending over every cached position: out = softmax(q·Kᵀ/√d) · V, where
/// position p's key and value are `k[p * stride + offset ..][..d]` and likewise in `v` (the
/// head's slice of a cache row of `stride` floats). `att` is scratch of one float per position.
pub fn attention(
    out: &mut [f32],
    q: &[f32],
    k: &[f32],
    v: &[f32],
    stride: usize,
    offset: usize,
    att: &mut [f32],
) {
    let d = q.len();
    let len = k.len() / stride;
    let scale = 1.0 / (d as f32).sqrt();
    let att = &mut att[..len];
    for (p, a) in att.iter_mut().enumerate() {
        *a = dot(q, &k[p * stride + offset..][..d]) * scale;
    }
    softmax(att);
    out.fill(0.0);
    for (p, &a) in att.iter().enumerate() {
        for (o, &vi) in out.iter_mut().zip(&v[p * stride + offset..][..d]) {
            *o += a * vi;
        }
    }
}
