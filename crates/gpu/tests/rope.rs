//! rope.wgsl against its CPU twin, `hearth_model::ops::rope` (angles in f64), token by
//! token: head_dim 64 and 128, rope_dim below head_dim, positions up to 8000 (and one long
//! context), Llama 3 style frequency factors, linear scaling, and a prepared op following
//! the Step buffer from call to call.

mod common;

use common::{Rng, gpu};
use hearth_gpu::kernels::{self, RopeFreqs, Step};
use hearth_gpu::{Gpu, GpuTensor};
use hearth_model::ops::{self, RopeParams};

/// Allowed error of each rotated value relative to its pair's norm. The kernel reduces the
/// angle exactly to [−π, π] (its error there is a few 2⁻²⁴ turns, ~1e-6 rad), so what is left
/// is the driver's sin and cos on that range and four f32 roundings: lavapipe is within
/// ~1e-6. A plain f32 angle (pos · inv_freq rounded) would be off by up to |θ| · 2⁻²⁴ =
/// 5e-4 rad at position 8000, and one position off moves the slowest pair by 1e-4 rad:
/// both fail here. (WGSL itself only promises sin/cos to 2⁻¹¹ absolute, so a driver with
/// that little precision would need 5e-4.)
const REL_TOL: f32 = 1e-5;

struct Case {
    n_tokens: usize,
    n_heads: usize,
    head_dim: usize,
    pos: usize,
    rope: RopeParams,
}

fn params(dim: usize, base: f32, freq_scale: f32, factors: Option<Vec<f32>>) -> RopeParams {
    RopeParams {
        dim,
        base,
        freq_scale,
        freq_factors: factors,
    }
}

/// Frequency factors in [1, 8), like the ones Llama 3.1 bakes into `rope_freqs.weight`.
fn random_factors(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| 1.0 + 7.0 * rng.f32().abs()).collect()
}

/// The twin's answer: each token's heads rotated at its own position.
fn want(c: &Case, x: &[f32]) -> Vec<f32> {
    let mut want = x.to_vec();
    for (t, row) in want.chunks_exact_mut(c.n_heads * c.head_dim).enumerate() {
        ops::rope(row, c.head_dim, c.pos + t, &c.rope);
    }
    want
}

fn compare(c: &Case, x: &[f32], got: &[f32], want: &[f32]) {
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
            let pair = x[j & !1].hypot(x[j | 1]);
            let err = (g[j] - w[j]).abs();
            assert!(
                err <= REL_TOL * pair,
                "{at} (|diff| {err:e}, pair norm {pair:e})"
            );
        }
    }
}

fn check(g: &Gpu, c: &Case, seed: u64) {
    let mut rng = Rng::new(seed);
    let x = rng.vec(c.n_tokens * c.n_heads * c.head_dim);
    let step = Step {
        pos: c.pos as u32,
        n_tokens: c.n_tokens as u32,
        kv_len: (c.pos + c.n_tokens) as u32,
        sample: 0,
    };
    let sb = step.buffer(g);
    let freqs = RopeFreqs::new(g, &c.rope).unwrap();
    let xg = GpuTensor::from_slice(g, &x, "x");
    let ops = kernels::rope(g, &xg, &freqs, &sb, c.n_tokens, c.n_heads, c.head_dim).unwrap();
    kernels::submit(g, &ops);
    compare(c, &x, &xg.read_blocking(g).unwrap(), &want(c, &x));
}

#[test]
fn matches_the_cpu_up_to_position_8000() {
    let g = gpu();
    let mut rng = Rng::new(100);
    let cases = [
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
            rope: params(128, 500000.0, 1.0, Some(random_factors(&mut rng, 64))),
        },
        Case {
            n_tokens: 3,
            n_heads: 8,
            head_dim: 128,
            pos: 7900,
            rope: params(128, 500000.0, 1.0, Some(random_factors(&mut rng, 64))),
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
    ];
    for (i, c) in cases.iter().enumerate() {
        check(&g, c, i as u64);
    }
}

#[test]
fn long_context_positions_stay_exact() {
    // 131071 is the last position whose angle reduction is exact in f32
    let c = Case {
        n_tokens: 3,
        n_heads: 4,
        head_dim: 128,
        pos: 131_068,
        rope: params(128, 500000.0, 1.0, None),
    };
    check(&gpu(), &c, 7);
}

#[test]
fn a_prepared_op_follows_the_step_buffer() {
    let g = gpu();
    let mut rng = Rng::new(8);
    let rope = params(64, 10000.0, 1.0, None);
    let x = rng.vec(2 * 3 * 64);
    let xg = GpuTensor::from_slice(&g, &x, "x");
    let sb = Step::default().buffer(&g);
    let freqs = RopeFreqs::new(&g, &rope).unwrap();
    let ops = kernels::rope(&g, &xg, &freqs, &sb, 2, 3, 64).unwrap();
    for pos in [5, 6000, 17] {
        let c = Case {
            n_tokens: 2,
            n_heads: 3,
            head_dim: 64,
            pos,
            rope: rope.clone(),
        };
        g.queue
            .write_buffer(&xg.buffer, 0, bytemuck::cast_slice(&x));
        Step {
            pos: pos as u32,
            n_tokens: 2,
            kv_len: pos as u32 + 2,
            sample: 0,
        }
        .write(&g, &sb);
        kernels::submit(&g, &ops);
        compare(&c, &x, &xg.read_blocking(&g).unwrap(), &want(&c, &x));
    }
}

#[test]
fn bad_shapes_are_errors() {
    let g = gpu();
    let sb = Step::default().buffer(&g);
    let rope = params(64, 10000.0, 1.0, None);
    let freqs = RopeFreqs::new(&g, &rope).unwrap();
    let x = GpuTensor::zeros(&g, 2 * 64, "x");
    // rope_dim above head_dim, odd head_dim, x too short
    assert!(kernels::rope(&g, &x, &freqs, &sb, 4, 1, 32).is_err());
    assert!(kernels::rope(&g, &x, &freqs, &sb, 1, 1, 65).is_err());
    assert!(kernels::rope(&g, &x, &freqs, &sb, 3, 1, 64).is_err());
    // odd dim, missing or bad frequency factors, bad base
    assert!(RopeFreqs::new(&g, &params(63, 10000.0, 1.0, None)).is_err());
    assert!(RopeFreqs::new(&g, &params(64, 10000.0, 1.0, Some(vec![1.0; 31]))).is_err());
    assert!(RopeFreqs::new(&g, &params(64, 10000.0, 1.0, Some(vec![0.0; 32]))).is_err());
    assert!(RopeFreqs::new(&g, &params(64, -1.0, 1.0, None)).is_err());
}
