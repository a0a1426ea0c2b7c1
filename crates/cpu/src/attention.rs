//! Causal attention over the KV cache and RoPE, for a batch of tokens.
//!
//! Attention is computed per KV head for the `n_rep` query heads that share it (GQA: each
//! key and value is read once for all of them), over the cached positions a token sees
//! (all up to its own, or a sliding window's last ones) cut into spans of at most [`SPAN`],
//! at multiples of [`SPAN`].
//! A span gives a partial result (per query head: its max score, the sum of the
//! exponentials and their weighted sum of values); the spans of a query are folded in
//! position order with [`merge`]. The spans are fixed by the positions alone, never by the
//! threads or the batch, so whether spans run on one thread in turn (prefill: one job per
//! token and KV head) or on several at once (decode: one job per span, folded after), the
//! arithmetic and the result are the same.

use hearth_model::ops::RopeParams;

/// Cached positions in one span of attention work.
pub const SPAN: usize = 64;

/// One KV head's keys and values in a layer's cache: position p's key is
/// `k[p * stride + offset..][..head_dim]`, likewise its value.
#[derive(Clone, Copy)]
pub struct KvHead<'a> {
    pub k: &'a [f32],
    pub v: &'a [f32],
    pub stride: usize,
    pub offset: usize,
}

/// The partial attention of `n_rep` query heads over some positions: per head its max
/// score, the sum of exp(score − max), and (`n_rep` × head_dim) the exp-weighted values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Partial {
    pub max: Vec<f32>,
    pub sum: Vec<f32>,
    pub acc: Vec<f32>,
}

/// The query heads of one token that share a KV head: `n_rep` heads of `d`, contiguous.
#[derive(Clone, Copy)]
pub struct Queries<'a> {
    pub q: &'a [f32],
    pub n_rep: usize,
}

/// Partial attention of `qs` over positions `lo..hi` (at most [`SPAN`]) of `kv`, into
/// `part` (resized). `scores` is scratch.
pub fn span(
    qs: Queries,
    kv: &KvHead,
    lo: usize,
    hi: usize,
    part: &mut Partial,
    scores: &mut Vec<f32>,
) {
    #[cfg(target_arch = "x86_64")]
    if crate::kernel::avx2_on() {
        // SAFETY: the CPU has the features
        return unsafe { span_avx2(qs, kv, lo, hi, part, scores) };
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if crate::kernel::simd() {
        return span_body::<Simd128>(qs, kv, lo, hi, part, scores);
    }
    span_body::<Scalar>(qs, kv, lo, hi, part, scores)
}

/// [`span`] compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn span_avx2(
    qs: Queries,
    kv: &KvHead,
    lo: usize,
    hi: usize,
    part: &mut Partial,
    scores: &mut Vec<f32>,
) {
    span_body::<Avx2>(qs, kv, lo, hi, part, scores)
}

#[inline(always)]
fn span_body<L: Lanes>(
    qs: Queries,
    kv: &KvHead,
    lo: usize,
    hi: usize,
    part: &mut Partial,
    scores: &mut Vec<f32>,
) {
    let Queries { q, n_rep } = qs;
    let d = q.len() / n_rep;
    let len = hi - lo;
    assert!(
        len > 0
            && len <= SPAN
            && (hi - 1) * kv.stride + kv.offset + d <= kv.k.len().min(kv.v.len())
    );
    let scale = 1.0 / (d as f32).sqrt();
    scores.clear();
    scores.resize(n_rep * SPAN, 0.0);
    // each query head's scores, then its exp-weighted values (the span's keys and values
    // stay in the L1 cache across the heads)
    let (k, v) = (
        &kv.k[lo * kv.stride + kv.offset..],
        &kv.v[lo * kv.stride + kv.offset..],
    );
    for r in 0..n_rep {
        // SAFETY: k holds len rows of stride with d values at the start of each (asserted)
        unsafe {
            dot_rows::<L>(
                &q[r * d..][..d],
                k,
                kv.stride,
                &mut scores[r * SPAN..][..len],
            )
        };
    }
    for x in scores.iter_mut() {
        *x *= scale;
    }
    part.max.clear();
    part.sum.clear();
    part.acc.clear();
    part.acc.resize(n_rep * d, 0.0);
    for r in 0..n_rep {
        let s = &mut scores[r * SPAN..][..len];
        let max = fold8(s, f32::NEG_INFINITY, f32::max);
        for x in s.iter_mut() {
            *x = exp(*x - max);
        }
        part.max.push(max);
        part.sum.push(fold8(s, 0.0, |a, b| a + b));
    }
    for r in 0..n_rep {
        let a = &scores[r * SPAN..][..len];
        // SAFETY: as above, for v
        unsafe { weighted_rows::<L>(a, v, kv.stride, &mut part.acc[r * d..][..d]) };
    }
}

/// One SIMD register of `W` f32 lanes, per instruction set: what the attention loops
/// below are written with, once. Callers run with the instruction set's features on and
/// pass pointers to `W` readable (or writable) floats.
trait Lanes {
    type V: Copy;
    const W: usize;
    unsafe fn load(p: *const f32) -> Self::V;
    unsafe fn store(p: *mut f32, v: Self::V);
    unsafe fn splat(x: f32) -> Self::V;
    /// a · b + c (fused where the instruction set has it).
    unsafe fn mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    /// The sum of the lanes.
    unsafe fn sum(v: Self::V) -> f32;
}

/// One lane: plain loops, for targets without a SIMD path (and the SIMD switch off).
struct Scalar;

impl Lanes for Scalar {
    type V = f32;
    const W: usize = 1;
    #[inline(always)]
    unsafe fn load(p: *const f32) -> f32 {
        unsafe { *p }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: f32) {
        unsafe { *p = v }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> f32 {
        x
    }
    #[inline(always)]
    unsafe fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    #[inline(always)]
    unsafe fn add(a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    unsafe fn sum(v: f32) -> f32 {
        v
    }
}

/// AVX2 with FMA: 8 lanes.
#[cfg(target_arch = "x86_64")]
struct Avx2;

#[cfg(target_arch = "x86_64")]
impl Lanes for Avx2 {
    type V = std::arch::x86_64::__m256;
    const W: usize = 8;
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        unsafe { std::arch::x86_64::_mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        unsafe { std::arch::x86_64::_mm256_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self::V {
        unsafe { std::arch::x86_64::_mm256_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        unsafe { std::arch::x86_64::_mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V {
        unsafe { std::arch::x86_64::_mm256_add_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn sum(v: Self::V) -> f32 {
        use std::arch::x86_64::*;
        unsafe {
            let h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
            let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
            _mm_cvtss_f32(_mm_add_ss(h, _mm_shuffle_ps(h, h, 1)))
        }
    }
}

/// wasm simd128: 4 lanes (no fused multiply-add).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
struct Simd128;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl Lanes for Simd128 {
    type V = std::arch::wasm32::v128;
    const W: usize = 4;
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        unsafe { std::arch::wasm32::v128_load(p.cast()) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        unsafe { std::arch::wasm32::v128_store(p.cast(), v) }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self::V {
        std::arch::wasm32::f32x4_splat(x)
    }
    #[inline(always)]
    unsafe fn mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        use std::arch::wasm32::*;
        f32x4_add(f32x4_mul(a, b), c)
    }
    #[inline(always)]
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V {
        std::arch::wasm32::f32x4_add(a, b)
    }
    #[inline(always)]
    unsafe fn sum(v: Self::V) -> f32 {
        use std::arch::wasm32::*;
        (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<2>(v))
            + (f32x4_extract_lane::<1>(v) + f32x4_extract_lane::<3>(v))
    }
}

/// a · b (equal lengths), two registers of accumulators, the tail lane by lane.
#[inline(always)]
unsafe fn dot<L: Lanes>(a: &[f32], b: &[f32]) -> f32 {
    let (n, w) = (a.len().min(b.len()), L::W);
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    // SAFETY: every load is below n; the caller runs with L's features on
    unsafe {
        let (mut s0, mut s1) = (L::splat(0.0), L::splat(0.0));
        let mut i = 0;
        while i + 2 * w <= n {
            s0 = L::mul_add(L::load(pa.add(i)), L::load(pb.add(i)), s0);
            s1 = L::mul_add(L::load(pa.add(i + w)), L::load(pb.add(i + w)), s1);
            i += 2 * w;
        }
        let mut sum = L::sum(L::add(s0, s1));
        while i < n {
            sum += *pa.add(i) * *pb.add(i);
            i += 1;
        }
        sum
    }
}

/// out[p] = q · k[p · stride..][..q.len()] for each p < out.len(); the query held in
/// registers where the head is 8 or 16 registers wide.
#[inline(always)]
unsafe fn dot_rows<L: Lanes>(q: &[f32], k: &[f32], stride: usize, out: &mut [f32]) {
    let d = q.len();
    assert!(out.is_empty() || (out.len() - 1) * stride + d <= k.len());
    // SAFETY: in bounds (asserted); L's features are on (the caller's contract)
    unsafe {
        match (d % L::W, d / L::W) {
            (0, 8) => held_dot_rows::<L, 8>(q, k, stride, out),
            (0, 16) => held_dot_rows::<L, 16>(q, k, stride, out),
            _ => {
                for (p, o) in out.iter_mut().enumerate() {
                    *o = dot::<L>(q, &k[p * stride..][..d]);
                }
            }
        }
    }
}

/// [`dot_rows`] for a head of N registers: the query in N registers, each key row loaded once.
#[inline(always)]
unsafe fn held_dot_rows<L: Lanes, const N: usize>(
    q: &[f32],
    k: &[f32],
    stride: usize,
    out: &mut [f32],
) {
    let w = L::W;
    // SAFETY: q has N·W floats and every key row too (the caller checked)
    unsafe {
        let qv: [L::V; N] = std::array::from_fn(|j| L::load(q.as_ptr().add(w * j)));
        for (p, o) in out.iter_mut().enumerate() {
            let kp = k.as_ptr().add(p * stride);
            let (mut s0, mut s1) = (L::splat(0.0), L::splat(0.0));
            for j in (0..N).step_by(2) {
                s0 = L::mul_add(qv[j], L::load(kp.add(w * j)), s0);
                s1 = L::mul_add(qv[j + 1], L::load(kp.add(w * j + w)), s1);
            }
            *o = L::sum(L::add(s0, s1));
        }
    }
}

/// o += Σ_p a[p] · v[p · stride..][..o.len()]; the output held in registers where the
/// head is 8 or 16 registers wide.
#[inline(always)]
unsafe fn weighted_rows<L: Lanes>(a: &[f32], v: &[f32], stride: usize, o: &mut [f32]) {
    let d = o.len();
    assert!(a.is_empty() || (a.len() - 1) * stride + d <= v.len());
    // SAFETY: in bounds (asserted); L's features are on (the caller's contract)
    unsafe {
        match (d % L::W, d / L::W) {
            (0, 8) => held_weighted_rows::<L, 8>(a, v, stride, o),
            (0, 16) => held_weighted_rows::<L, 16>(a, v, stride, o),
            _ => {
                for (p, &ap) in a.iter().enumerate() {
                    for (o, &x) in o.iter_mut().zip(&v[p * stride..][..d]) {
                        *o += ap * x;
                    }
                }
            }
        }
    }
}

/// [`weighted_rows`] for a head of N registers: the output in N registers, each value row
/// loaded once.
#[inline(always)]
unsafe fn held_weighted_rows<L: Lanes, const N: usize>(
    a: &[f32],
    v: &[f32],
    stride: usize,
    o: &mut [f32],
) {
    let w = L::W;
    // SAFETY: o has N·W floats and every value row too (the caller checked)
    unsafe {
        let mut acc: [L::V; N] = std::array::from_fn(|j| L::load(o.as_ptr().add(w * j)));
        for (p, &ap) in a.iter().enumerate() {
            let vp = v.as_ptr().add(p * stride);
            let s = L::splat(ap);
            for (j, acc) in acc.iter_mut().enumerate() {
                *acc = L::mul_add(s, L::load(vp.add(w * j)), *acc);
            }
        }
        for (j, acc) in acc.iter().enumerate() {
            L::store(o.as_mut_ptr().add(w * j), *acc);
        }
    }
}

/// Folds `next` (the partial of the following span) into `into`: the two rescaled to
/// their common max and added.
pub fn merge(into: &mut Partial, next: &Partial) {
    let d = into.acc.len() / into.max.len().max(1);
    for r in 0..into.max.len() {
        let m = into.max[r].max(next.max[r]);
        let (a, b) = (exp(into.max[r] - m), exp(next.max[r] - m));
        into.max[r] = m;
        into.sum[r] = into.sum[r] * a + next.sum[r] * b;
        for (o, &x) in into.acc[r * d..][..d]
            .iter_mut()
            .zip(&next.acc[r * d..][..d])
        {
            *o = *o * a + x * b;
        }
    }
}

/// out (n_rep × d) = the attention a folded partial stands for: its values over its sum.
pub fn finish(part: &Partial, out: &mut [f32]) {
    let d = part.acc.len() / part.sum.len().max(1);
    for (r, &sum) in part.sum.iter().enumerate() {
        let inv = 1.0 / sum;
        for (o, &x) in out[r * d..][..d].iter_mut().zip(&part.acc[r * d..][..d]) {
            *o = x * inv;
        }
    }
}

/// The spans of the cached positions `seen` (`first..last + 1`): `(lo, hi)` pairs cut at
/// the multiples of [`SPAN`], so at most [`SPAN`] long.
pub fn spans(seen: std::ops::Range<usize>) -> impl Iterator<Item = (usize, usize)> {
    let (first, end) = (seen.start, seen.end);
    let last_span = if first < end { end.div_ceil(SPAN) } else { 0 };
    (first / SPAN..last_span).map(move |s| (first.max(s * SPAN), ((s + 1) * SPAN).min(end)))
}

/// The cached positions the token at position `pos` sees: `0..=pos`, or with a sliding
/// `window` of w (≥ 1) only the last w of them, `pos + 1 − w..=pos`.
pub fn seen(pos: usize, window: Option<usize>) -> std::ops::Range<usize> {
    window.map_or(0, |w| (pos + 1).saturating_sub(w))..pos + 1
}

/// Attention of `qs` over the positions `seen` of `kv` (not empty), span by span in order,
/// into `out` (n_rep × d): what the spans give when run apart and merged in the same order.
pub fn heads(
    qs: Queries,
    kv: &KvHead,
    seen: std::ops::Range<usize>,
    out: &mut [f32],
    scratch: &mut Scratch,
) {
    let Scratch { run, part, scores } = scratch;
    for (i, (lo, hi)) in spans(seen).enumerate() {
        if i == 0 {
            span(qs, kv, lo, hi, run, scores);
        } else {
            span(qs, kv, lo, hi, part, scores);
            merge(run, part);
        }
    }
    finish(run, out);
}

/// Buffers one thread reuses across [`heads`] calls.
#[derive(Default)]
pub struct Scratch {
    run: Partial,
    part: Partial,
    scores: Vec<f32>,
}

/// `xs` folded with `f` in eight lanes, then the lanes pairwise (a fixed order that the
/// compiler may vectorize, unlike a one-lane fold of floats).
#[inline(always)]
fn fold8(xs: &[f32], init: f32, f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [init; 8];
    let chunks = xs.chunks_exact(8);
    let mut tail = init;
    for &x in chunks.remainder() {
        tail = f(tail, x);
    }
    for c in chunks {
        for k in 0..8 {
            acc[k] = f(acc[k], c[k]);
        }
    }
    let a = [
        f(acc[0], acc[4]),
        f(acc[1], acc[5]),
        f(acc[2], acc[6]),
        f(acc[3], acc[7]),
    ];
    f(f(f(a[0], a[2]), f(a[1], a[3])), tail)
}

/// e^x for x ≤ 0 (scores less their max), branch-free so that loops over it vectorize:
/// 2^n · p(r) with x = n·ln 2 + r, |r| ≤ ln2 / 2, p a degree-6 polynomial (relative error
/// below 2e-7); x below −87 is taken as −87 (e^−87 ≈ 1.6e-38, the normal floats' edge,
/// nothing next to the max score's 1).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.max(-87.0);
    let n = (x * LOG2E + 0.5).floor();
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Taylor coefficients 1/k!, k ≤ 6, in Horner form
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let scaled = f32::from_bits(((n as i32 + 127) as u32) << 23);
    p * scaled
}

/// cos and sin of every rotated pair at each position, computed once per position (in
/// f64, like the reference) and kept.
#[derive(Debug, Default, Clone)]
pub struct RopeTable {
    half: usize,
    neox: bool,
    cs: Vec<(f32, f32)>, // (positions, half)
}

impl RopeTable {
    /// The table for `p`'s pairs, empty.
    pub fn new(p: &RopeParams) -> RopeTable {
        RopeTable {
            half: p.dim / 2,
            neox: p.neox,
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
    /// Rotates the pairs of each `head_dim` head of `x` for position `pos`: adjacent
    /// ones, or in the NeoX style dims i and i + half.
    pub fn apply(&self, x: &mut [f32], head_dim: usize, pos: usize) {
        let cs = &self.cs[pos * self.half..(pos + 1) * self.half];
        let rotate = |a: &mut f32, b: &mut f32, (c, s): (f32, f32)| {
            let (x, y) = (*a, *b);
            *a = x * c - y * s;
            *b = x * s + y * c;
        };
        for head in x.chunks_exact_mut(head_dim) {
            if self.neox {
                let (lo, hi) = head[..2 * self.half].split_at_mut(self.half);
                for ((a, b), &cs) in lo.iter_mut().zip(hi).zip(cs) {
                    rotate(a, b, cs);
                }
            } else {
                for (pair, &cs) in head.chunks_exact_mut(2).zip(cs) {
                    let (a, b) = pair.split_at_mut(1);
                    rotate(&mut a[0], &mut b[0], cs);
                }
            }
        }
    }
}
