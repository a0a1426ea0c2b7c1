//! attn_decode.wgsl + attn_combine.wgsl and attn_prefill.wgsl against
//! `hearth_model::ops::attention` of each query head over the cache rows it may see: all
//! of them up to its own position, or with a sliding window the last `window` of those.

use hearth_gpu::kernels::{
    self, ATTN_SPLIT, AttnHeads, AttnPartials, KvType, Op, Step, attn_combine, attn_decode,
    attn_prefill,
};
use hearth_gpu::{Gpu, GpuTensor};
use hearth_model::ops;

use super::Rng;

/// Outputs are convex combinations of values in [-1, 1): f32 sums and exp in another order
/// than the CPU's leave at most 4.5e-7 here (lavapipe); allowed absolute error per element.
pub const TOL: f32 = 4e-6;
/// With scores in the hundreds (see `peaked_scores_do_not_overflow`), a score's rounding
/// error (≈ |score| · 2⁻²⁴ ≈ 2e-5) moves close weights by as much relatively: allowed
/// absolute error there.
pub const PEAKED_TOL: f32 = 1e-4;
/// Prefill's last token and decode of the same token: two GPU results, summed in different
/// orders (they differ by at most ~3e-7 here).
pub const SAME_TOKEN_TOL: f32 = 4e-6;

pub const SPLIT: usize = ATTN_SPLIT as usize;

/// SmolLM2-135M's attention: 9 query heads over 3 KV heads of 64.
pub const GQA: AttnHeads = AttnHeads {
    n_head: 9,
    n_head_kv: 3,
    head_dim: 64,
};
pub const MHA: AttnHeads = AttnHeads {
    n_head: 4,
    n_head_kv: 4,
    head_dim: 128,
};
pub const MQA: AttnHeads = AttnHeads {
    n_head: 8,
    n_head_kv: 1,
    head_dim: 64,
};

/// One layer's KV cache, on the CPU and the GPU, filled with random rows.
pub struct Cache {
    pub heads: AttnHeads,
    pub n_ctx: usize,
    pub kv: KvType,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    pub k_gpu: GpuTensor,
    pub v_gpu: GpuTensor,
}

impl Cache {
    pub fn random(g: &Gpu, rng: &mut Rng, heads: AttnHeads, n_ctx: usize) -> Cache {
        Cache::random_of(g, rng, heads, n_ctx, KvType::F32)
    }

    /// A random cache of type `kv`; the twin's copy holds the values the GPU's holds.
    pub fn random_of(g: &Gpu, rng: &mut Rng, heads: AttnHeads, n_ctx: usize, kv: KvType) -> Cache {
        let mut values = || -> (Vec<f32>, GpuTensor) {
            let x = rng.vec(n_ctx * heads.kv_dim());
            match kv {
                KvType::F32 => {
                    let t = GpuTensor::from_slice(g, &x, "cache");
                    (x, t)
                }
                KvType::F16 => {
                    let h: Vec<half::f16> = x.iter().map(|v| half::f16::from_f32(*v)).collect();
                    let words: Vec<u32> = h
                        .chunks(2)
                        .map(|p| p[0].to_bits() as u32 | (p[1].to_bits() as u32) << 16)
                        .collect();
                    let t = GpuTensor::from_slice(g, &words, "f16 cache");
                    (h.iter().map(|v| v.to_f32()).collect(), t)
                }
            }
        };
        let (k, k_gpu) = values();
        let (v, v_gpu) = values();
        Cache {
            heads,
            n_ctx,
            kv,
            k,
            v,
            k_gpu,
            v_gpu,
        }
    }

    /// The twin: query head h of `q` (one token's n_head · head_dim) over rows 0 .. len,
    /// or with a `window` of w over the last w of them (as the reference slices its cache).
    pub fn attend(&self, q: &[f32], h: usize, len: usize, window: Option<usize>) -> Vec<f32> {
        let (hd, kv_dim) = (self.heads.head_dim, self.heads.kv_dim());
        let kv_head = h / (self.heads.n_head / self.heads.n_head_kv);
        let first = window.map_or(0, |w| len.saturating_sub(w));
        let mut out = vec![0.0; hd];
        let mut att = vec![0.0; len - first];
        ops::attention(
            &mut out,
            &q[h * hd..][..hd],
            &self.k[first * kv_dim..len * kv_dim],
            &self.v[first * kv_dim..len * kv_dim],
            kv_dim,
            kv_head * hd,
            &mut att,
        );
        out
    }
}

/// `n` random query floats, times `gain` (larger gains give more peaked softmaxes).
pub fn queries(rng: &mut Rng, n: usize, gain: f32) -> Vec<f32> {
    rng.vec(n).iter().map(|x| x * gain).collect()
}

pub fn run(g: &Gpu, ops: &[Op], step: &wgpu::Buffer, s: Step) {
    s.write(g, step);
    kernels::submit(g, ops);
}

pub fn decode_step(kv_len: usize) -> Step {
    Step {
        pos: kv_len as u32 - 1,
        n_tokens: 1,
        kv_len: kv_len as u32,
        sample: 0,
    }
}

pub fn prefill_step(pos: usize, n_tokens: usize) -> Step {
    Step {
        pos: pos as u32,
        n_tokens: n_tokens as u32,
        kv_len: (pos + n_tokens) as u32,
        sample: 0,
    }
}

/// Compares the heads of the token at position len − 1 with the twin over rows 0 .. len
/// (the last `window` of them); `what` names the call.
pub fn check_token(
    cache: &Cache,
    q: &[f32],
    got: &[f32],
    (len, window): (usize, Option<usize>),
    tol: f32,
    what: &str,
) {
    let hd = cache.heads.head_dim;
    for h in 0..cache.heads.n_head {
        let want = cache.attend(q, h, len, window);
        for (i, (&gv, &wv)) in got[h * hd..][..hd].iter().zip(&want).enumerate() {
            assert!(
                (gv - wv).abs() <= tol,
                "{what}: head {h} position {} index {i}: got {gv} want {wv} (|diff| {})",
                len - 1,
                (gv - wv).abs()
            );
        }
    }
}

/// Flash-decoding ops for one token, prepared once for the whole cache.
pub struct Decoder {
    pub _q: GpuTensor,
    pub out: GpuTensor,
    pub partials: AttnPartials,
    pub step: wgpu::Buffer,
    pub window: Option<usize>,
    pub ops: Vec<Op>,
}

impl Decoder {
    pub fn new(g: &Gpu, cache: &Cache, q: &[f32]) -> Decoder {
        Decoder::windowed(g, cache, q, None)
    }

    /// The ops of a token that sees the last `window` positions.
    pub fn windowed(g: &Gpu, cache: &Cache, q: &[f32], window: Option<usize>) -> Decoder {
        let q = GpuTensor::from_slice(g, q, "q");
        let out = GpuTensor::zeros(g, cache.heads.q_dim(), "out");
        let partials = AttnPartials::new(g, cache.heads, cache.n_ctx);
        let step = Step::default().buffer(g);
        let mut ops = attn_decode(
            g,
            &q,
            &cache.k_gpu,
            &cache.v_gpu,
            cache.kv,
            &partials,
            &step,
            window,
        )
        .unwrap();
        ops.extend(attn_combine(g, &partials, &out, &step, window).unwrap());
        Decoder {
            _q: q,
            out,
            partials,
            step,
            window,
            ops,
        }
    }

    /// Runs the ops for `kv_len`, attn_decode dispatched over every split of the cache, or
    /// with `narrow` over the filled splits only (as the model runs it).
    pub async fn attend(&self, g: &Gpu, kv_len: usize, narrow: bool) -> Vec<f32> {
        let splits_for = if narrow { kv_len } else { self.partials.n_ctx };
        self.partials.set_kv_len(g, splits_for);
        run(g, &self.ops, &self.step, decode_step(kv_len));
        self.out.read(g).await.unwrap()
    }

    /// The splits at or past kv_len, and those wholly before the window, must say they are
    /// empty: m = −f32::MAX, l = 0 (the ones dispatched: all with `narrow` false).
    pub async fn check_empty_splits(&self, g: &Gpu, kv_len: usize) {
        let p: Vec<f32> = self.partials.tensor.read(g).await.unwrap();
        let size = 4 + self.partials.heads.head_dim;
        let first = self.window.map_or(0, |w| kv_len.saturating_sub(w));
        let before = (0..first / SPLIT).map(|s| (s, "before the window"));
        let past = (kv_len.div_ceil(SPLIT)..self.partials.n_splits).map(|s| (s, "past the cache"));
        let empty: Vec<_> = before.chain(past).collect();
        for h in 0..self.partials.heads.n_head {
            for &(s, where_) in &empty {
                let r = &p[(h * self.partials.n_splits + s) * size..][..2];
                assert!(
                    r[0] == -f32::MAX && r[1] == 0.0,
                    "kv_len {kv_len}, window {:?}: head {h} split {s} {where_}: got m {} l {}, \
                     want the empty mark",
                    self.window,
                    r[0],
                    r[1]
                );
            }
        }
    }
}

/// The same prepared decode ops for growing kv_len, then a short one again (whose stale
/// split records from the longer runs must not be read), over every split and then over
/// the filled ones only.
pub async fn decode_lengths(g: &Gpu, heads: AttnHeads, n_ctx: usize, lens: &[usize], seed: u64) {
    decode_lengths_of(g, heads, n_ctx, lens, seed, KvType::F32).await;
}

/// [`decode_lengths`] with a cache of type `kv`.
pub async fn decode_lengths_of(
    g: &Gpu,
    heads: AttnHeads,
    n_ctx: usize,
    lens: &[usize],
    seed: u64,
    kv: KvType,
) {
    decode_windowed(g, heads, n_ctx, lens, None, seed, kv).await;
}

/// [`decode_lengths_of`] for a token that sees the last `window` positions (None: all).
pub async fn decode_windowed(
    g: &Gpu,
    heads: AttnHeads,
    n_ctx: usize,
    lens: &[usize],
    window: Option<usize>,
    seed: u64,
    kv: KvType,
) {
    let mut rng = Rng::new(seed);
    let cache = Cache::random_of(g, &mut rng, heads, n_ctx, kv);
    let q = queries(&mut rng, heads.q_dim(), 4.0);
    let dec = Decoder::windowed(g, &cache, &q, window);
    let what = format!("{heads:?}, n_ctx {n_ctx}, window {window:?}, {kv:?} cache");
    for &len in lens {
        let got = dec.attend(g, len, false).await;
        let what = format!("attn_decode+combine {what}, kv_len {len}");
        check_token(&cache, &q, &got, (len, window), TOL, &what);
        dec.check_empty_splits(g, len).await;
    }
    // launched over the filled splits only: the records past them are stale, from the
    // longer lengths above, and must not be read
    for &len in lens {
        let got = dec.attend(g, len, true).await;
        let what = format!("attn_decode+combine (narrowed) {what}, kv_len {len}");
        check_token(&cache, &q, &got, (len, window), TOL, &what);
    }
}

/// Prefill ops prepared once for up to `max_tokens`, run for each (pos, n_tokens) call.
pub async fn prefill_calls(
    g: &Gpu,
    heads: AttnHeads,
    n_ctx: usize,
    max_tokens: usize,
    calls: &[(usize, usize)],
) {
    prefill_calls_of(g, heads, n_ctx, max_tokens, calls, KvType::F32).await;
}

/// [`prefill_calls`] with a cache of type `kv`.
pub async fn prefill_calls_of(
    g: &Gpu,
    heads: AttnHeads,
    n_ctx: usize,
    max_tokens: usize,
    calls: &[(usize, usize)],
    kv: KvType,
) {
    prefill_windowed(g, heads, n_ctx, max_tokens, calls, None, kv).await;
}

/// [`prefill_calls_of`] for tokens that see the last `window` positions (None: all).
pub async fn prefill_windowed(
    g: &Gpu,
    heads: AttnHeads,
    n_ctx: usize,
    max_tokens: usize,
    calls: &[(usize, usize)],
    window: Option<usize>,
    kv: KvType,
) {
    let mut rng = Rng::new(10 + heads.head_dim as u64 + window.unwrap_or(0) as u64);
    let cache = Cache::random_of(g, &mut rng, heads, n_ctx, kv);
    let q_dim = heads.q_dim();
    let q = queries(&mut rng, max_tokens * q_dim, 4.0);
    let q_gpu = GpuTensor::from_slice(g, &q, "q");
    let out = GpuTensor::zeros(g, max_tokens * q_dim, "out");
    let step = Step::default().buffer(g);
    let ops = attn_prefill(
        g,
        heads,
        &q_gpu,
        &cache.k_gpu,
        &cache.v_gpu,
        cache.kv,
        &out,
        &step,
        max_tokens,
        window,
    )
    .unwrap();
    for &(pos, n_tokens) in calls {
        run(g, &ops, &step, prefill_step(pos, n_tokens));
        let got: Vec<f32> = out.read(g).await.unwrap();
        for t in 0..n_tokens {
            let what = format!(
                "attn_prefill {heads:?} {kv:?} window {window:?} pos {pos} n_tokens {n_tokens}: \
                 token {t}"
            );
            let token = |x: &[f32]| x[t * q_dim..][..q_dim].to_vec();
            let seen = (pos + t + 1, window);
            check_token(&cache, &token(&q), &token(&got), seen, TOL, &what);
        }
    }
}

/// Decode of a prompt's last token against the prefill of the whole prompt (and the twin),
/// seeing every position and through a window shorter than the prompt (and than a split).
pub async fn last_prompt_token_decode_matches_prefill(g: &Gpu) {
    let mut rng = Rng::new(20);
    let (n_tokens, n_ctx) = (SPLIT + 45, 2 * SPLIT);
    let cache = Cache::random(g, &mut rng, GQA, n_ctx);
    let q_dim = GQA.q_dim();
    let q = queries(&mut rng, n_tokens * q_dim, 4.0);
    let q_gpu = GpuTensor::from_slice(g, &q, "q");
    let out = GpuTensor::zeros(g, n_tokens * q_dim, "out");
    let step = Step::default().buffer(g);
    for window in [None, Some(100)] {
        let ops = attn_prefill(
            g,
            GQA,
            &q_gpu,
            &cache.k_gpu,
            &cache.v_gpu,
            cache.kv,
            &out,
            &step,
            n_tokens,
            window,
        )
        .unwrap();
        run(g, &ops, &step, prefill_step(0, n_tokens));
        let prefill: Vec<f32> = out.read(g).await.unwrap();
        let prefill_last = &prefill[(n_tokens - 1) * q_dim..];

        let q_last = &q[(n_tokens - 1) * q_dim..];
        let dec = Decoder::windowed(g, &cache, q_last, window);
        let decode = dec.attend(g, n_tokens, true).await;
        let what = format!("attn_decode of the last token, window {window:?}");
        check_token(&cache, q_last, &decode, (n_tokens, window), TOL, &what);
        for (i, (&d, &p)) in decode.iter().zip(prefill_last).enumerate() {
            assert!(
                (d - p).abs() <= SAME_TOKEN_TOL,
                "attention, last token, window {window:?}, head {} index {}: decode {d} \
                 prefill {p}",
                i / GQA.head_dim,
                i % GQA.head_dim
            );
        }
    }
}

/// Scores in the hundreds, decode and prefill, within [`PEAKED_TOL`].
pub async fn peaked_scores(g: &Gpu) {
    // scores in the hundreds: e^score overflows f32 unless the max is subtracted, in the
    // splits, in their combination and in the prefill's online softmax
    let mut rng = Rng::new(30);
    let n_ctx = 2 * SPLIT + 17;
    let cache = Cache::random(g, &mut rng, GQA, n_ctx);
    let q = queries(&mut rng, GQA.q_dim() * 3, 300.0);
    let dec = Decoder::new(g, &cache, &q[..GQA.q_dim()]);
    let got = dec.attend(g, n_ctx, true).await;
    check_token(
        &cache,
        &q,
        &got,
        (n_ctx, None),
        PEAKED_TOL,
        "attn_decode, peaked scores",
    );

    let q_gpu = GpuTensor::from_slice(g, &q, "q");
    let out = GpuTensor::zeros(g, q.len(), "out");
    let step = Step::default().buffer(g);
    let ops = attn_prefill(
        g,
        GQA,
        &q_gpu,
        &cache.k_gpu,
        &cache.v_gpu,
        KvType::F32,
        &out,
        &step,
        3,
        None,
    )
    .unwrap();
    let pos = n_ctx - 3;
    run(g, &ops, &step, prefill_step(pos, 3));
    let got: Vec<f32> = out.read(g).await.unwrap();
    for t in 0..3 {
        let token = |x: &[f32]| x[t * GQA.q_dim()..][..GQA.q_dim()].to_vec();
        let what = format!("attn_prefill, peaked scores, token {t}");
        check_token(
            &cache,
            &token(&q),
            &token(&got),
            (pos + t + 1, None),
            PEAKED_TOL,
            &what,
        );
    }
}
