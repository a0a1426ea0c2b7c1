//! rope_store.wgsl against its CPU twin (`hearth_model::ops::rope` of q and k, then a copy
//! into the cache) and against the passes it replaces (rope.wgsl twice, kv_store.wgsl),
//! which it must equal bit for bit.

use hearth_gpu::kernels::{self, KvType, RopeFreqs, RopeHeads, Step};
use hearth_gpu::{Gpu, GpuTensor};

use super::Rng;
use super::kv_store::{from_words, to_words};
use super::rope::{Case, compare, params, want};

/// A rope_store case: `q` holds the q heads' shape and the RoPE settings.
pub struct StoreCase {
    pub q: Case,
    pub n_kv_heads: usize,
    /// Rows of the caches.
    pub n_ctx: usize,
}

/// SmolLM2's decode and prefill shapes late in a long context, Llama 3.1-like heads of 128
/// with partial rotation, and a call that runs past the cache's end.
pub fn cases() -> Vec<StoreCase> {
    let case = |n_tokens, n_heads, head_dim, pos, dim| Case {
        n_tokens,
        n_heads,
        head_dim,
        pos,
        rope: params(dim, 10000.0, 1.0, None),
    };
    vec![
        StoreCase {
            q: case(1, 9, 64, 8000, 64),
            n_kv_heads: 3,
            n_ctx: 8003,
        },
        StoreCase {
            q: case(12, 9, 64, 7989, 64),
            n_kv_heads: 3,
            n_ctx: 8003,
        },
        StoreCase {
            q: case(5, 8, 128, 30, 96),
            n_kv_heads: 2,
            n_ctx: 40,
        },
        StoreCase {
            q: case(5, 4, 64, 37, 64),
            n_kv_heads: 4,
            n_ctx: 40,
        },
    ]
}

/// Runs case `s` through rope_store and through rope, rope, kv_store on equal buffers, and
/// compares: the same bits everywhere, `k` left as it was, q and (f32 cache) the stored
/// keys within the RoPE tolerance of the twin, the values copied.
pub async fn check(g: &Gpu, s: &StoreCase, kv: KvType, seed: u64) {
    let c = &s.q;
    let mut rng = Rng::new(seed);
    let (hd, n) = (c.head_dim, c.n_tokens);
    let kv_dim = s.n_kv_heads * hd;
    let q = rng.vec(n * c.n_heads * hd);
    let k = rng.vec(n * kv_dim);
    let v = rng.vec(n * kv_dim);
    let cache0 = from_words(kv, &to_words(kv, &rng.vec(s.n_ctx * kv_dim)));
    let step = Step {
        pos: c.pos as u32,
        n_tokens: n as u32,
        kv_len: (c.pos + n) as u32,
        sample: 0,
    }
    .buffer(g);
    let freqs = RopeFreqs::new(g, &c.rope).unwrap();
    let upload = |x: &[f32], what: &str| GpuTensor::from_slice(g, x, what);
    let cache = |what: &str| GpuTensor::from_slice(g, &to_words(kv, &cache0), what);

    // fused
    let (qf, kf, vf) = (upload(&q, "q"), upload(&k, "k"), upload(&v, "v"));
    let (kcf, vcf) = (cache("k_cache"), cache("v_cache"));
    let heads = RopeHeads {
        n_q_heads: c.n_heads,
        n_kv_heads: s.n_kv_heads,
        head_dim: hd,
    };
    let ops = kernels::rope_store(
        g,
        [&qf, &kf, &vf],
        [&kcf, &vcf],
        kv,
        &freqs,
        &step,
        n,
        heads,
    );
    kernels::submit(g, &ops.unwrap());

    // the three passes it replaces
    let (qs, ks, vs) = (upload(&q, "q"), upload(&k, "k"), upload(&v, "v"));
    let (kcs, vcs) = (cache("k_cache"), cache("v_cache"));
    let mut ops = kernels::rope(g, &qs, &freqs, &step, n, c.n_heads, hd).unwrap();
    ops.extend(kernels::rope(g, &ks, &freqs, &step, n, s.n_kv_heads, hd).unwrap());
    ops.extend(kernels::kv_store(g, &ks, &vs, &kcs, &vcs, kv, &step, n, kv_dim).unwrap());
    kernels::submit(g, &ops);

    let what = format!(
        "rope_store {:?} cache, {n} tokens × {}/{} heads of {hd} (RoPE over {}) at {} of {}",
        kv, c.n_heads, s.n_kv_heads, c.rope.dim, c.pos, s.n_ctx
    );
    for (name, a, b) in [
        ("q", &qf, &qs),
        ("k_cache", &kcf, &kcs),
        ("v_cache", &vcf, &vcs),
    ] {
        let (a, b) = (
            a.read::<u32>(g).await.unwrap(),
            b.read::<u32>(g).await.unwrap(),
        );
        assert!(a == b, "{what}: {name} differs from the passes it replaces");
    }
    let k_after: Vec<f32> = kf.read(g).await.unwrap();
    assert!(k_after == k, "{what}: k was written");

    // against the twin
    let got_q: Vec<f32> = qf.read(g).await.unwrap();
    compare(c, &q, &got_q, &want(c, &q));
    let rows = n.min(s.n_ctx.saturating_sub(c.pos));
    let got_v = from_words(kv, &vcf.read::<u32>(g).await.unwrap());
    let got_k = from_words(kv, &kcf.read::<u32>(g).await.unwrap());
    let stored = c.pos * kv_dim..(c.pos + rows) * kv_dim;
    let want_v = from_words(kv, &to_words(kv, &v[..rows * kv_dim]));
    assert!(
        got_v[stored.clone()] == want_v[..],
        "{what}: values not copied"
    );
    let untouched = |got: &[f32]| {
        got[..stored.start] == cache0[..stored.start] && got[stored.end..] == cache0[stored.end..]
    };
    assert!(
        untouched(&got_k) && untouched(&got_v),
        "{what}: other cache rows written"
    );
    if kv == KvType::F32 {
        let kc = Case {
            n_tokens: rows,
            n_heads: s.n_kv_heads,
            head_dim: hd,
            pos: c.pos,
            rope: c.rope.clone(),
        };
        let k = &k[..rows * kv_dim];
        compare(&kc, k, &got_k[stored], &want(&kc, k));
    }
}
