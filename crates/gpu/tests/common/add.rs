//! add.wgsl against `hearth_model::ops::add`, bit for bit.

use hearth_gpu::{Gpu, GpuTensor, kernels};
use hearth_model::ops;

use super::Rng;

/// Elements whose workgroups overflow one dispatch dimension (65535 groups of 256).
pub const LONG: usize = 65535 * 256 + 333;

/// Adds the first `n` of `len` random elements on the GPU; the whole vector must match
/// the CPU bit for bit.
pub async fn check(g: &Gpu, n: usize, len: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    let x = rng.vec(len);
    let y = rng.vec(len);
    // only the first n elements change
    let mut want = x.clone();
    ops::add(&mut want[..n], &y[..n]);

    let xg = GpuTensor::from_slice(g, &x, "x");
    let yg = GpuTensor::from_slice(g, &y, "y");
    kernels::submit(g, &kernels::add(g, &xg, &yg, n).unwrap());
    let got: Vec<f32> = xg.read(g).await.unwrap();

    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        assert!(
            a.to_bits() == b.to_bits(),
            "add of {n}, element {i}: got {a:e} want {b:e}"
        );
    }
}

/// Adds a random bias of `width` to each of `rows` rows on the GPU; the whole matrix must
/// match `ops::add_bias` bit for bit.
pub async fn check_bias(g: &Gpu, rows: usize, width: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    let x = rng.vec(rows * width);
    let b = rng.vec(width);
    let mut want = x.clone();
    ops::add_bias(&mut want, &b);

    let xg = GpuTensor::from_slice(g, &x, "x");
    let bg = GpuTensor::from_slice(g, &b, "b");
    kernels::submit(g, &kernels::add_bias(g, &xg, &bg, rows).unwrap());
    let got: Vec<f32> = xg.read(g).await.unwrap();
    for (i, (a, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            a.to_bits() == w.to_bits(),
            "bias of {rows}×{width}, element {i}: got {a:e} want {w:e}"
        );
    }
}
