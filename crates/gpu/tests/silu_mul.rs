//! silu_mul.wgsl against its CPU twin, `hearth_model::ops::silu_mul` (and with GELU,
//! `ops::gelu_mul`), on random gates and on gates large enough to overflow a naive e^(−z),
//! with lengths that are not multiples of the workgroup and one long enough for the 2-D
//! dispatch.

// native only (blocking calls); tests/browser.rs runs the kernel checks on the web
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::silu_mul::{LONG, check, check_glu, large_gates};
use common::{Rng, block_on, gpu};
use hearth_gpu::kernels::Glu;
use hearth_gpu::{GpuTensor, kernels};

#[test]
fn random_gates_match_the_cpu() {
    let g = gpu();
    let mut rng = Rng::new(1);
    let gate: Vec<f32> = rng.vec(1000).iter().map(|v| v * 12.0).collect();
    let up = rng.vec(1000);
    block_on(check(&g, &gate, &up));
}

#[test]
fn large_gates_stay_finite() {
    let g = gpu();
    let gate = large_gates();
    let mut rng = Rng::new(2);
    let up: Vec<f32> = gate.iter().map(|_| rng.f32()).collect();
    block_on(check(&g, &gate, &up));
}

#[test]
fn gelu_random_and_large_gates_match_the_cpu() {
    let g = gpu();
    let mut rng = Rng::new(4);
    let gate: Vec<f32> = rng.vec(1000).iter().map(|v| v * 12.0).collect();
    let up = rng.vec(1000);
    block_on(check_glu(&g, Glu::Gelu, &gate, &up));
    let gate = large_gates();
    let up: Vec<f32> = gate.iter().map(|_| rng.f32()).collect();
    block_on(check_glu(&g, Glu::Gelu, &gate, &up));
}

#[test]
fn gelu_long_vectors_use_a_2d_grid() {
    let mut rng = Rng::new(5);
    let gate: Vec<f32> = rng.vec(LONG).iter().map(|v| v * 6.0).collect();
    let up = rng.vec(LONG);
    block_on(check_glu(&gpu(), Glu::Gelu, &gate, &up));
}

#[test]
fn long_vectors_use_a_2d_grid() {
    let mut rng = Rng::new(3);
    let gate: Vec<f32> = rng.vec(LONG).iter().map(|v| v * 12.0).collect();
    let up = rng.vec(LONG);
    block_on(check(&gpu(), &gate, &up));
}

#[test]
fn bad_shapes_are_errors() {
    let g = gpu();
    let a = GpuTensor::zeros(&g, 10, "a");
    let b = GpuTensor::zeros(&g, 10, "b");
    let short = GpuTensor::zeros(&g, 9, "short");
    assert!(kernels::silu_mul(&g, &a, &b, &short, 10).is_err());
    assert!(kernels::silu_mul(&g, &short, &a, &b, 10).is_err());
    assert!(kernels::silu_mul(&g, &a, &a, &b, 10).is_ok());
    // out must not be an input
    assert!(kernels::silu_mul(&g, &a, &b, &b, 10).is_err());
    assert!(kernels::gelu_mul(&g, &a, &b, &short, 10).is_err());
    assert!(kernels::gelu_mul(&g, &a, &b, &a, 10).is_err());
    assert!(kernels::gelu_mul(&g, &a, &b, &short, 9).is_ok());
}
