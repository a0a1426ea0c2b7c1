//! attn_decode.wgsl + attn_combine.wgsl (flash-decoding) and attn_prefill.wgsl (causal,
//! tiled) against their CPU twin, `hearth_model::ops::attention` of each query head over
//! the cache rows it may see, for GQA (SmolLM2's 9/3 heads of 64), MHA, MQA and other head
//! sizes, with random caches whose rows past kv_len hold stale values that must be ignored,
//! in f32 and in f16 (whose twin reads the same f16 values, widened).

mod common;

use KvType::F32;
use common::{Rng, gpu};
use hearth_gpu::kernels::{
    self, ATTN_SPLIT, AttnHeads, AttnPartials, KvType, Op, Step, attn_combine, attn_decode,
    attn_prefill,
};
use hearth_gpu::{Gpu, GpuTensor};
use hearth_model::ops;

/// Outputs are convex combinations of values in [-1, 1): f32 sums and exp in another order
/// than the CPU's leave at most 4.5e-7 here (lavapipe); allowed absolute error per element.
const TOL: f32 = 4e-6;
/// With scores in the hundreds (see `peaked_scores_do_not_overflow`), a score's rounding
/// error (≈ |score| · 2⁻²⁴ ≈ 2e-5) moves close weights by as much relatively: allowed
/// absolute error there.
const PEAKED_TOL: f32 = 1e-4;
/// Prefill's last token and decode of the same token: two GPU results, summed in different
/// orders (they differ by at most ~3e-7 here).
const SAME_TOKEN_TOL: f32 = 4e-6;

const SPLIT: usize = ATTN_SPLIT as usize;

/// SmolLM2-135M's attention: 9 query heads over 3 KV heads of 64.
const GQA: AttnHeads = AttnHeads {
    n_head: 9,
    n_head_kv: 3,
    head_dim: 64,
};
const MHA: AttnHeads = AttnHeads {
    n_head: 4,
    n_head_kv: 4,
    head_dim: 128,
};
const MQA: AttnHeads = AttnHeads {
    n_head: 8,
    n_head_kv: 1,
    head_dim: 64,
};

/// One layer's KV cache, on the CPU and the GPU, filled with random rows.
struct Cache {
    heads: AttnHeads,
    n_ctx: usize,
    kv: KvType,
    k: Vec<f32>,
    v: Vec<f32>,
    k_gpu: GpuTensor,
    v_gpu: GpuTensor,
}

impl Cache {
    fn random(g: &Gpu, rng: &mut Rng, heads: AttnHeads, n_ctx: usize) -> Cache {
        Cache::random_of(g, rng, heads, n_ctx, KvType::F32)
    }

    /// A random cache of type `kv`; the twin's copy holds the values the GPU's holds.
    fn random_of(g: &Gpu, rng: &mut Rng, heads: AttnHeads, n_ctx: usize, kv: KvType) -> Cache {
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

    /// The twin: query head h of `q` (one token's n_head · head_dim) over rows 0 .. len.
    fn attend(&self, q: &[f32], h: usize, len: usize) -> Vec<f32> {
        let (hd, kv_dim) = (self.heads.head_dim, self.heads.kv_dim());
        let kv_head = h / (self.heads.n_head / self.heads.n_head_kv);
        let mut out = vec![0.0; hd];
        let mut att = vec![0.0; len];
        ops::attention(
            &mut out,
            &q[h * hd..][..hd],
            &self.k[..len * kv_dim],
            &self.v[..len * kv_dim],
            kv_dim,
            kv_head * hd,
            &mut att,
        );
        out
    }
}

/// `n` random query floats, times `gain` (larger gains give more peaked softmaxes).
fn queries(rng: &mut Rng, n: usize, gain: f32) -> Vec<f32> {
    rng.vec(n).iter().map(|x| x * gain).collect()
}

fn run(g: &Gpu, ops: &[Op], step: &wgpu::Buffer, s: Step) {
    s.write(g, step);
    kernels::submit(g, ops);
}

fn decode_step(kv_len: usize) -> Step {
    Step {
        pos: kv_len as u32 - 1,
        n_tokens: 1,
        kv_len: kv_len as u32,
        sample: 0,
    }
}

fn prefill_step(pos: usize, n_tokens: usize) -> Step {
    Step {
        pos: pos as u32,
        n_tokens: n_tokens as u32,
        kv_len: (pos + n_tokens) as u32,
        sample: 0,
    }
}

/// Compares the heads of the token at position len − 1 with the twin over rows 0 .. len;
/// `what` names the call.
fn check_token(cache: &Cache, q: &[f32], got: &[f32], len: usize, tol: f32, what: &str) {
    let hd = cache.heads.head_dim;
    for h in 0..cache.heads.n_head {
        let want = cache.attend(q, h, len);
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
struct Decoder {
    _q: GpuTensor,
    out: GpuTensor,
    partials: AttnPartials,
    step: wgpu::Buffer,
    ops: Vec<Op>,
}

impl Decoder {
    fn new(g: &Gpu, cache: &Cache, q: &[f32]) -> Decoder {
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
        )
        .unwrap();
        ops.extend(attn_combine(g, &partials, &out, &step).unwrap());
        Decoder {
            _q: q,
            out,
            partials,
            step,
            ops,
        }
    }

    fn attend(&self, g: &Gpu, kv_len: usize) -> Vec<f32> {
        run(g, &self.ops, &self.step, decode_step(kv_len));
        self.out.read_blocking(g).unwrap()
    }

    /// The splits at or past kv_len must say they are empty: m = −f32::MAX, l = 0.
    fn check_empty_splits(&self, g: &Gpu, kv_len: usize) {
        let p: Vec<f32> = self.partials.tensor.read_blocking(g).unwrap();
        let size = 4 + self.partials.heads.head_dim;
        for h in 0..self.partials.heads.n_head {
            for s in kv_len.div_ceil(SPLIT)..self.partials.n_splits {
                let r = &p[(h * self.partials.n_splits + s) * size..][..2];
                assert!(
                    r[0] == -f32::MAX && r[1] == 0.0,
                    "kv_len {kv_len}: head {h} split {s} past the cache: got m {} l {}, \
                     want the empty mark",
                    r[0],
                    r[1]
                );
            }
        }
    }
}

/// The same prepared decode ops for growing kv_len, then a short one again (whose stale
/// split records from the longer runs must not be read).
fn decode_lengths(heads: AttnHeads, n_ctx: usize, lens: &[usize], seed: u64) {
    decode_lengths_of(heads, n_ctx, lens, seed, KvType::F32);
}

fn decode_lengths_of(heads: AttnHeads, n_ctx: usize, lens: &[usize], seed: u64, kv: KvType) {
    let g = gpu();
    let mut rng = Rng::new(seed);
    let cache = Cache::random_of(&g, &mut rng, heads, n_ctx, kv);
    let q = queries(&mut rng, heads.q_dim(), 4.0);
    let dec = Decoder::new(&g, &cache, &q);
    for &len in lens {
        let got = dec.attend(&g, len);
        let what = format!("decode {heads:?}, n_ctx {n_ctx}, {kv:?} cache");
        check_token(&cache, &q, &got, len, TOL, &what);
        dec.check_empty_splits(&g, len);
    }
}

#[test]
fn decode_gqa_every_split_edge() {
    let n_ctx = 3 * SPLIT + 5;
    let lens = [
        1,
        2,
        SPLIT - 1,
        SPLIT,
        SPLIT + 1,
        2 * SPLIT + 7,
        n_ctx,
        3, // back to short: the records of the long runs are stale now
    ];
    decode_lengths(GQA, n_ctx, &lens, 1);
}

#[test]
fn decode_mha_and_mqa() {
    decode_lengths(MHA, 2 * SPLIT + 3, &[1, SPLIT + 1, 2 * SPLIT + 3], 2);
    decode_lengths(MQA, 2 * SPLIT, &[2, SPLIT, 2 * SPLIT - 1], 3);
}

#[test]
fn decode_long_cache_short_prompt() {
    // 16 splits per head dispatched, one used
    decode_lengths(GQA, 16 * SPLIT, &[1, 3, 40], 4);
}

#[test]
fn decode_other_head_sizes() {
    let heads = |n_head, n_head_kv, head_dim| AttnHeads {
        n_head,
        n_head_kv,
        head_dim,
    };
    decode_lengths(heads(2, 1, 256), SPLIT + 9, &[5, SPLIT + 9], 5);
    decode_lengths(heads(6, 2, 96), SPLIT + 9, &[SPLIT + 2], 6);
    decode_lengths(heads(3, 3, 20), 40, &[1, 40], 7);
    decode_lengths(heads(5, 5, 4), 2 * SPLIT, &[SPLIT + 100], 8);
}

/// Prefill ops prepared once for up to `max_tokens`, run for each (pos, n_tokens) call.
fn prefill_calls(heads: AttnHeads, n_ctx: usize, max_tokens: usize, calls: &[(usize, usize)]) {
    prefill_calls_of(heads, n_ctx, max_tokens, calls, KvType::F32);
}

fn prefill_calls_of(
    heads: AttnHeads,
    n_ctx: usize,
    max_tokens: usize,
    calls: &[(usize, usize)],
    kv: KvType,
) {
    let g = gpu();
    let mut rng = Rng::new(10 + heads.head_dim as u64);
    let cache = Cache::random_of(&g, &mut rng, heads, n_ctx, kv);
    let q_dim = heads.q_dim();
    let q = queries(&mut rng, max_tokens * q_dim, 4.0);
    let q_gpu = GpuTensor::from_slice(&g, &q, "q");
    let out = GpuTensor::zeros(&g, max_tokens * q_dim, "out");
    let step = Step::default().buffer(&g);
    let ops = attn_prefill(
        &g,
        heads,
        &q_gpu,
        &cache.k_gpu,
        &cache.v_gpu,
        cache.kv,
        &out,
        &step,
        max_tokens,
    )
    .unwrap();
    for &(pos, n_tokens) in calls {
        run(&g, &ops, &step, prefill_step(pos, n_tokens));
        let got: Vec<f32> = out.read_blocking(&g).unwrap();
        for t in 0..n_tokens {
            let what = format!("prefill {heads:?} {kv:?} pos {pos} n_tokens {n_tokens}: token {t}");
            let token = |x: &[f32]| x[t * q_dim..][..q_dim].to_vec();
            check_token(&cache, &token(&q), &token(&got), pos + t + 1, TOL, &what);
        }
    }
}

#[test]
fn decode_and_prefill_read_f16_caches() {
    decode_lengths_of(
        GQA,
        2 * SPLIT + 10,
        &[1, SPLIT + 1, 2 * SPLIT + 10, 5],
        21,
        KvType::F16,
    );
    decode_lengths_of(MHA, 70, &[70], 22, KvType::F16);
    prefill_calls_of(GQA, 300, 40, &[(0, 37), (250, 40)], KvType::F16);
    prefill_calls_of(MHA, 100, 13, &[(5, 13)], KvType::F16);
}

#[test]
fn prefill_gqa_from_start_and_continuing() {
    // 16 queries per workgroup and 16 keys per tile: 37 tokens is 2 blocks and a part
    prefill_calls(
        GQA,
        600,
        40,
        &[(0, 37), (37, 1), (300, 21), (0, 40), (560, 40)],
    );
}

#[test]
fn prefill_mha_and_mqa() {
    prefill_calls(MHA, 100, 13, &[(0, 13), (5, 13), (80, 7)]);
    prefill_calls(MQA, 100, 19, &[(0, 19), (33, 17)]);
}

#[test]
fn prefill_other_head_sizes() {
    let heads = |n_head, n_head_kv, head_dim| AttnHeads {
        n_head,
        n_head_kv,
        head_dim,
    };
    // dots cut over G = 16, 3 and 1 parts; 4 queries per workgroup for 256
    prefill_calls(heads(2, 1, 256), 50, 9, &[(0, 9), (20, 7)]);
    prefill_calls(heads(6, 2, 96), 50, 23, &[(0, 23), (11, 15)]);
    prefill_calls(heads(3, 3, 20), 120, 60, &[(0, 60), (55, 51)]);
}

#[test]
fn decode_of_the_last_prompt_token_matches_prefill() {
    let g = gpu();
    let mut rng = Rng::new(20);
    let (n_tokens, n_ctx) = (SPLIT + 45, 2 * SPLIT);
    let cache = Cache::random(&g, &mut rng, GQA, n_ctx);
    let q_dim = GQA.q_dim();
    let q = queries(&mut rng, n_tokens * q_dim, 4.0);
    let q_gpu = GpuTensor::from_slice(&g, &q, "q");
    let out = GpuTensor::zeros(&g, n_tokens * q_dim, "out");
    let step = Step::default().buffer(&g);
    let ops = attn_prefill(
        &g,
        GQA,
        &q_gpu,
        &cache.k_gpu,
        &cache.v_gpu,
        cache.kv,
        &out,
        &step,
        n_tokens,
    )
    .unwrap();
    run(&g, &ops, &step, prefill_step(0, n_tokens));
    let prefill: Vec<f32> = out.read_blocking(&g).unwrap();
    let prefill_last = &prefill[(n_tokens - 1) * q_dim..];

    let q_last = &q[(n_tokens - 1) * q_dim..];
    let dec = Decoder::new(&g, &cache, q_last);
    let decode = dec.attend(&g, n_tokens);
    check_token(&cache, q_last, &decode, n_tokens, TOL, "decode");
    for (i, (&d, &p)) in decode.iter().zip(prefill_last).enumerate() {
        assert!(
            (d - p).abs() <= SAME_TOKEN_TOL,
            "last token, head {} index {}: decode {d} prefill {p}",
            i / GQA.head_dim,
            i % GQA.head_dim
        );
    }
}

#[test]
fn peaked_scores_do_not_overflow() {
    // scores in the hundreds: e^score overflows f32 unless the max is subtracted, in the
    // splits, in their combination and in the prefill's online softmax
    let g = gpu();
    let mut rng = Rng::new(30);
    let n_ctx = 2 * SPLIT + 17;
    let cache = Cache::random(&g, &mut rng, GQA, n_ctx);
    let q = queries(&mut rng, GQA.q_dim() * 3, 300.0);
    let dec = Decoder::new(&g, &cache, &q[..GQA.q_dim()]);
    let got = dec.attend(&g, n_ctx);
    check_token(&cache, &q, &got, n_ctx, PEAKED_TOL, "peaked decode");

    let q_gpu = GpuTensor::from_slice(&g, &q, "q");
    let out = GpuTensor::zeros(&g, q.len(), "out");
    let step = Step::default().buffer(&g);
    let ops = attn_prefill(
        &g,
        GQA,
        &q_gpu,
        &cache.k_gpu,
        &cache.v_gpu,
        F32,
        &out,
        &step,
        3,
    )
    .unwrap();
    let pos = n_ctx - 3;
    run(&g, &ops, &step, prefill_step(pos, 3));
    let got: Vec<f32> = out.read_blocking(&g).unwrap();
    for t in 0..3 {
        let token = |x: &[f32]| x[t * GQA.q_dim()..][..GQA.q_dim()].to_vec();
        let what = format!("peaked prefill token {t}");
        check_token(
            &cache,
            &token(&q),
            &token(&got),
            pos + t + 1,
            PEAKED_TOL,
            &what,
        );
    }
}

#[test]
fn bad_shapes_are_errors() {
    let g = gpu();
    let step = Step::default().buffer(&g);
    let t = |n: usize| GpuTensor::zeros(&g, n, "t");
    let (k, v) = (t(10 * 192), t(10 * 192));
    let (q, out) = (t(9 * 64 * 4), t(9 * 64 * 4));
    let partials = AttnPartials::new(&g, GQA, 10);
    assert!(attn_decode(&g, &q, &k, &v, F32, &partials, &step).is_ok());
    assert!(attn_prefill(&g, GQA, &q, &k, &v, F32, &out, &step, 4).is_ok());

    // heads that do not share evenly, odd or oversized heads
    for heads in [
        AttnHeads {
            n_head: 9,
            n_head_kv: 2,
            head_dim: 64,
        },
        AttnHeads {
            n_head: 3,
            n_head_kv: 3,
            head_dim: 62,
        },
        AttnHeads {
            n_head: 1,
            n_head_kv: 1,
            head_dim: 260,
        },
    ] {
        let c = t(10 * heads.kv_dim());
        let p = AttnPartials::new(&g, heads, 10);
        assert!(
            attn_decode(&g, &q, &c, &c, F32, &p, &step).is_err(),
            "{heads:?}"
        );
        assert!(attn_prefill(&g, heads, &q, &c, &c, F32, &out, &step, 1).is_err());
    }
    // a cache that is not whole rows, caches of two lengths, partials for another length
    let ragged = t(10 * 192 + 5);
    assert!(attn_decode(&g, &q, &ragged, &ragged, F32, &partials, &step).is_err());
    assert!(attn_decode(&g, &q, &k, &t(11 * 192), F32, &partials, &step).is_err());
    let other = AttnPartials::new(&g, GQA, 11);
    assert!(attn_decode(&g, &q, &k, &v, F32, &other, &step).is_err());
    // q or out too small, out aliasing q or the partials
    assert!(attn_decode(&g, &t(9 * 64 - 1), &k, &v, F32, &partials, &step).is_err());
    assert!(attn_combine(&g, &partials, &t(9 * 64 - 1), &step).is_err());
    assert!(attn_combine(&g, &partials, &partials.tensor, &step).is_err());
    assert!(attn_prefill(&g, GQA, &q, &k, &v, F32, &out, &step, 5).is_err());
    assert!(attn_prefill(&g, GQA, &q, &k, &v, F32, &q, &step, 4).is_err());
    assert!(attn_prefill(&g, GQA, &q, &k, &v, F32, &out, &step, 0).is_err());
}
