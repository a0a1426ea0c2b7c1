//! rope.wgsl against its CPU twin, `hearth_model::ops::rope` (angles in f64), token by
//! token: head_dim 64 and 128, rope_dim below head_dim, positions up to 8000 (and one long
//! context), Llama 3 style frequency factors, linear scaling, a prepared op following
//! the Step buffer from call to call, and a model's sliding-window table (Gemma 3's local
//! RoPE) beside its global one.

// native only (blocking calls); tests/browser.rs runs the kernel checks on the web
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::rope::{Case, cases, check, compare, local_and_global_tables, params, want};
use common::{Rng, block_on, gpu};
use hearth_gpu::GpuTensor;
use hearth_gpu::kernels::{self, RopeFreqs, Step};

#[test]
fn matches_the_cpu_up_to_position_8000() {
    let g = gpu();
    let mut rng = Rng::new(100);
    for (i, c) in cases(&mut rng).iter().enumerate() {
        block_on(check(&g, c, i as u64));
    }
}

#[test]
fn sliding_window_layers_use_their_own_table() {
    block_on(local_and_global_tables(&gpu()));
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
    block_on(check(&gpu(), &c, 7));
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
