//! silu_mul.wgsl against its CPU twin, `hearth_model::ops::silu_mul`, on random gates and on
//! gates large enough to overflow a naive e^(−z), with lengths that are not multiples of the
//! workgroup and one long enough for the 2-D dispatch.

mod common;

use common::{Rng, gpu};
use hearth_gpu::{Gpu, GpuTensor, kernels};
use hearth_model::ops;

/// Allowed error relative to |gate · up|. The kernel's sigmoid, sel / (1 + e^(−|z|)), differs
/// from the twin's 1 / (1 + e^(−z)) by a few roundings (~4 · 2⁻²⁴) plus the error of the
/// driver's exp, which WGSL bounds by (3 + 2|z|) ulp; that error enters multiplied by
/// e^(−|z|), so (3 + 2|z|) · e^(−|z|) ≤ 3 ulp for every z.
const REL_TOL: f32 = 1e-6;

/// Elements whose workgroups overflow one dispatch dimension (65535 groups of 256).
const LONG: usize = 65535 * 256 + 333;

fn check(g: &Gpu, gate: &[f32], up: &[f32]) {
    let n = gate.len();
    let mut want = vec![0.0; n];
    ops::silu_mul(&mut want, gate, up);

    let gg = GpuTensor::from_slice(g, gate, "gate");
    let ug = GpuTensor::from_slice(g, up, "up");
    let out = GpuTensor::zeros(g, n, "out");
    kernels::submit(g, &kernels::silu_mul(g, &gg, &ug, &out, n).unwrap());
    let got: Vec<f32> = out.read_blocking(g).unwrap();

    for i in 0..n {
        let err = (got[i] - want[i]).abs();
        let mag = (gate[i] * up[i]).abs();
        assert!(
            got[i].is_finite() && err <= REL_TOL * mag,
            "silu_mul of {n}, element {i}: gate {} up {}: got {:e} want {:e} (|diff| {err:e})",
            gate[i],
            up[i],
            got[i],
            want[i]
        );
    }
}

#[test]
fn random_gates_match_the_cpu() {
    let g = gpu();
    let mut rng = Rng::new(1);
    let gate: Vec<f32> = rng.vec(1000).iter().map(|v| v * 12.0).collect();
    let up = rng.vec(1000);
    check(&g, &gate, &up);
}

#[test]
fn large_gates_stay_finite() {
    let g = gpu();
    let mut gate = vec![0.0, -0.0, 1e-30, -1e-30, f32::MAX, -f32::MAX, 3e38, -3e38];
    for z in [
        20.0, 80.0, 88.0, 88.8, 89.0, 100.0, 104.0, 200.0, 1e4, 1e20, 1e30,
    ] {
        gate.extend([z, -z]);
    }
    let mut rng = Rng::new(2);
    let up: Vec<f32> = gate.iter().map(|_| rng.f32()).collect();
    check(&g, &gate, &up);
}

#[test]
fn long_vectors_use_a_2d_grid() {
    let mut rng = Rng::new(3);
    let gate: Vec<f32> = rng.vec(LONG).iter().map(|v| v * 12.0).collect();
    let up = rng.vec(LONG);
    check(&gpu(), &gate, &up);
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
}
