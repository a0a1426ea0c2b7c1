//! rope.wgsl against `hearth_model::ops::rope` (angles in f64), token by token; and a
//! model's two tables (`kernels::Ropes`: its layers' and its sliding-window layers') against
//! `Config::rope` and `Config::rope_local`.

use hearth_gguf::{Gguf, GgufWriter, Value};
use hearth_gpu::kernels::{self, RopeFreqs, Ropes, Step};
use hearth_gpu::{Gpu, GpuTensor};
use hearth_model::Config;
use hearth_model::ops::{self, RopeParams};

use super::Rng;

/// Allowed error of each rotated value relative to its pair's norm. The kernel reduces the
/// angle exactly to [−π, π] (its error there is a few 2⁻²⁴ turns, ~1e-6 rad) and takes sin
/// and cos from its own polynomials on [−π/4, π/4] (about 1 ulp), so what is left is a few
/// f32 roundings, on any driver. A plain f32 angle (pos · inv_freq rounded) would be off by
/// up to |θ| · 2⁻²⁴ = 5e-4 rad at position 8000, and one position off moves the slowest pair
/// by 1e-4 rad: both fail here. So would the driver's sin and cos where they are only as
/// good as WGSL requires (2⁻¹¹ absolute; SwiftShader's err by 1.9e-4).
pub const REL_TOL: f32 = 1e-5;

pub struct Case {
    pub n_tokens: usize,
    pub n_heads: usize,
    pub head_dim: usize,
    pub pos: usize,
    pub rope: RopeParams,
}

/// RoPE over `dim` dims with these settings.
pub fn params(dim: usize, base: f32, freq_scale: f32, factors: Option<Vec<f32>>) -> RopeParams {
    RopeParams {
        neox: false,
        dim,
        base,
        freq_scale,
        freq_factors: factors,
    }
}

/// Frequency factors in [1, 8), like the ones Llama 3.1 bakes into `rope_freqs.weight`.
pub fn random_factors(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| 1.0 + 7.0 * rng.f32().abs()).collect()
}

/// The twin's answer: each token's heads rotated at its own position.
pub fn want(c: &Case, x: &[f32]) -> Vec<f32> {
    let mut want = x.to_vec();
    for (t, row) in want.chunks_exact_mut(c.n_heads * c.head_dim).enumerate() {
        ops::rope(row, c.head_dim, c.pos + t, &c.rope);
    }
    want
}

/// Asserts each rotated value within [`REL_TOL`] of its pair's norm, the rest untouched.
pub fn compare(c: &Case, x: &[f32], got: &[f32], want: &[f32]) {
    let name = format!(
        "rope {}×{}×{} over {} dims at {}",
        c.n_tokens, c.n_heads, c.head_dim, c.rope.dim, c.pos
    );
    for (h, ((g, w), x)) in got
        .chunks_exact(c.head_dim)
        .zip(want.chunks_exact(c.head_dim))
        .zip(x.chunks_exact(c.head_dim))
        .enumerate()
    {
        let (t, head) = (h / c.n_heads, h % c.n_heads);
        for j in 0..c.head_dim {
            let at = format!(
                "{name}: token {t} head {head} dim {j}: got {:e} want {:e}",
                g[j], w[j]
            );
            if j >= c.rope.dim {
                assert!(g[j].to_bits() == x[j].to_bits(), "{at} (not rotated)");
                continue;
            }
            // the pair j belongs to (adjacent dims, or NeoX's j and j ± dim/2)
            let half = c.rope.dim / 2;
            let i = if c.rope.neox { j % half } else { j / 2 };
            let (a, b) = c.rope.pair(i);
            let pair = x[a].hypot(x[b]);
            let err = (g[j] - w[j]).abs();
            assert!(
                err <= REL_TOL * pair,
                "{at} (|diff| {err:e}, pair norm {pair:e})"
            );
        }
    }
}

/// Rotates random heads of case `c` on the GPU (a Step at `c.pos`) and compares.
pub async fn check(g: &Gpu, c: &Case, seed: u64) {
    let freqs = RopeFreqs::new(g, &c.rope).unwrap();
    check_table(g, c, &freqs, seed).await;
}

/// [`check`] with the table `freqs` made elsewhere (for `c.rope`'s settings).
pub async fn check_table(g: &Gpu, c: &Case, freqs: &RopeFreqs, seed: u64) {
    let mut rng = Rng::new(seed);
    let x = rng.vec(c.n_tokens * c.n_heads * c.head_dim);
    let step = Step {
        pos: c.pos as u32,
        n_tokens: c.n_tokens as u32,
        kv_len: (c.pos + c.n_tokens) as u32,
        sample: 0,
    };
    let sb = step.buffer(g);
    let xg = GpuTensor::from_slice(g, &x, "x");
    let ops = kernels::rope(g, &xg, freqs, &sb, c.n_tokens, c.n_heads, c.head_dim).unwrap();
    kernels::submit(g, &ops);
    compare(c, &x, &xg.read(g).await.unwrap(), &want(c, &x));
}

/// Positions up to 8000: SmolLM2's q and k, Llama 3.1's heads of 128 with frequency
/// factors, partial rotation and linear scaling.
pub fn cases(rng: &mut Rng) -> Vec<Case> {
    vec![
        // SmolLM2's q (9 heads of 64), prefill ending at position 8000
        Case {
            n_tokens: 12,
            n_heads: 9,
            head_dim: 64,
            pos: 7989,
            rope: params(64, 10000.0, 1.0, None),
        },
        // its k at decode
        Case {
            n_tokens: 1,
            n_heads: 3,
            head_dim: 64,
            pos: 8000,
            rope: params(64, 10000.0, 1.0, None),
        },
        // Llama 3.1's heads of 128 with base 500000 and frequency factors, prefill from 0
        Case {
            n_tokens: 37,
            n_heads: 5,
            head_dim: 128,
            pos: 0,
            rope: params(128, 500000.0, 1.0, Some(random_factors(rng, 64))),
        },
        Case {
            n_tokens: 3,
            n_heads: 8,
            head_dim: 128,
            pos: 7900,
            rope: params(128, 500000.0, 1.0, Some(random_factors(rng, 64))),
        },
        // partial rotation (rope_dim < head_dim), linear scaling
        Case {
            n_tokens: 4,
            n_heads: 7,
            head_dim: 128,
            pos: 4000,
            rope: params(96, 10000.0, 0.25, None),
        },
        Case {
            n_tokens: 2,
            n_heads: 1,
            head_dim: 64,
            pos: 7998,
            rope: params(34, 10000.0, 1.0, None),
        },
        // NeoX pairs (Qwen2, Qwen3): heads of 64 and 128 with base 1e6, and partial
        Case {
            n_tokens: 9,
            n_heads: 14,
            head_dim: 64,
            pos: 7990,
            rope: RopeParams {
                neox: true,
                ..params(64, 1_000_000.0, 1.0, None)
            },
        },
        Case {
            n_tokens: 1,
            n_heads: 8,
            head_dim: 128,
            pos: 5000,
            rope: RopeParams {
                neox: true,
                ..params(128, 1_000_000.0, 1.0, None)
            },
        },
        Case {
            n_tokens: 3,
            n_heads: 2,
            head_dim: 64,
            pos: 300,
            rope: RopeParams {
                neox: true,
                ..params(32, 10000.0, 1.0, None)
            },
        },
    ]
}

/// The config of a Gemma 3 4B-like model (metadata only): heads of 128, global RoPE base
/// 1e6 with linear scaling 8, the sliding-window layers' base 10000 unscaled.
pub fn gemma3_config() -> Config {
    let mut w = GgufWriter::new();
    let md: [(&str, Value); 14] = [
        ("general.architecture", "gemma3".into()),
        ("gemma3.context_length", Value::U32(131072)),
        ("gemma3.embedding_length", Value::U32(2560)),
        ("gemma3.block_count", Value::U32(34)),
        ("gemma3.feed_forward_length", Value::U32(10240)),
        ("gemma3.attention.head_count", Value::U32(8)),
        ("gemma3.attention.head_count_kv", Value::U32(4)),
        ("gemma3.attention.key_length", Value::U32(256)),
        ("gemma3.attention.layer_norm_rms_epsilon", Value::F32(1e-6)),
        ("gemma3.attention.sliding_window", Value::U32(1024)),
        ("gemma3.rope.freq_base", Value::F32(1_000_000.0)),
        ("gemma3.rope.scaling.type", "linear".into()),
        ("gemma3.rope.scaling.factor", Value::F32(8.0)),
        ("gemma3.vocab_size", Value::U32(262144)),
    ];
    for (k, v) in md {
        w.add_metadata(k, v).unwrap();
    }
    let bytes = w.finish();
    Config::from_gguf(&Gguf::read(&bytes).unwrap()).unwrap()
}

/// A model's two tables, as the engine makes them (`Ropes::new`), each against the twin
/// with its own settings: the layers' `Config::rope` (base 1e6, scale 1/8, and here
/// frequency factors too) and the sliding-window layers' `Config::rope_local` (base 10000,
/// neither), decode and prefill, at long positions (the two differ there by whole turns).
pub async fn local_and_global_tables(g: &Gpu) {
    let cfg = gemma3_config();
    let mut rng = Rng::new(12);
    let factors = random_factors(&mut rng, cfg.rope_dim / 2);
    let ropes = Ropes::new(g, &cfg, Some(&factors)).unwrap();
    let local = cfg.rope_local();
    assert!(local.neox && local.freq_factors.is_none() && local.freq_scale == 1.0);
    assert_eq!((local.base, cfg.rope_base), (10000.0, 1_000_000.0));
    for (i, (n_tokens, pos)) in [(1, 7000), (13, 30_000), (2, 0)].into_iter().enumerate() {
        for is_local in [false, true] {
            let c = Case {
                n_tokens,
                n_heads: cfg.n_head,
                head_dim: cfg.head_dim,
                pos,
                rope: match is_local {
                    true => local.clone(),
                    false => cfg.rope(Some(&factors)),
                },
            };
            check_table(g, &c, ropes.pick(is_local), 20 + i as u64).await;
        }
    }
}
