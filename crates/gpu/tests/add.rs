//! add.wgsl against its CPU twin, `hearth_model::ops::add`: bit for bit (one correctly
//! rounded f32 addition on each side), with a length that is not a multiple of the
//! workgroup and one long enough for the 2-D dispatch.

mod common;

use common::{Rng, gpu};
use hearth_gpu::{Gpu, GpuTensor, kernels};
use hearth_model::ops;

/// Elements whose workgroups overflow one dispatch dimension (65535 groups of 256).
const LONG: usize = 65535 * 256 + 333;

fn check(g: &Gpu, n: usize, len: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    let x = rng.vec(len);
    let y = rng.vec(len);
    // only the first n elements change
    let mut want = x.clone();
    ops::add(&mut want[..n], &y[..n]);

    let xg = GpuTensor::from_slice(g, &x, "x");
    let yg = GpuTensor::from_slice(g, &y, "y");
    kernels::submit(g, &kernels::add(g, &xg, &yg, n).unwrap());
    let got: Vec<f32> = xg.read_blocking(g).unwrap();

    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        assert!(
            a.to_bits() == b.to_bits(),
            "add of {n}, element {i}: got {a:e} want {b:e}"
        );
    }
}

#[test]
fn matches_the_cpu_bit_for_bit() {
    let g = gpu();
    check(&g, 1, 1, 1);
    check(&g, 1000, 1000, 2);
    check(&g, 577, 1000, 3);
}

#[test]
fn long_vectors_use_a_2d_grid() {
    check(&gpu(), LONG, LONG, 4);
}

#[test]
fn bad_shapes_are_errors() {
    let g = gpu();
    let x = GpuTensor::zeros(&g, 10, "x");
    let y = GpuTensor::zeros(&g, 9, "y");
    assert!(kernels::add(&g, &x, &y, 10).is_err());
    assert!(kernels::add(&g, &y, &x, 10).is_err());
    assert!(kernels::add(&g, &x, &x, 10).is_err());
}
