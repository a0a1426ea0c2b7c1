//! rms_norm.wgsl against `hearth_model::ops::rms_norm`, row by row, and with ACCUMULATE
//! (`kernels::norm_add`) against `hearth_model::ops::norm_add`.

use hearth_gpu::{Gpu, GpuTensor, kernels};
use hearth_model::ops;

use super::Rng;

/// Allowed error relative to |want|. Both sides sum dim squares in f32, in other orders: the
/// twin's running sum errs by about 2⁻²⁴ · √(dim / 3) relative (3e-6 at dim 8192; its worst
/// case, dim · 2⁻²⁴, is never reached by random data), the kernel's strided-then-tree sum by
/// less; the scale takes half of that, plus a few roundings. Tight enough to see dividing by
/// dim ± 1 (1/(2·dim) ≥ 6e-5) or eps outside the square root.
pub const REL_TOL: f32 = 1e-5;

/// Llama's usual `llama.attention.layer_norm_rms_epsilon`.
pub const EPS: f32 = 1e-5;

/// Row scales, cycled: typical activations, rows whose mean square (3e-7) is below eps,
/// and large ones.
pub const ROW_SCALES: [f32; 3] = [1.0, 1e-3, 100.0];

/// `n_tokens` random rows of `dim` (scaled by [`ROW_SCALES`]) against the CPU, within
/// [`REL_TOL`].
pub async fn check(g: &Gpu, n_tokens: usize, dim: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    let x: Vec<f32> = (0..n_tokens * dim)
        .map(|i| rng.f32() * ROW_SCALES[i / dim % ROW_SCALES.len()])
        .collect();
    let w = rng.vec(dim);
    let mut want = vec![0.0; n_tokens * dim];
    for (o, xr) in want.chunks_exact_mut(dim).zip(x.chunks_exact(dim)) {
        ops::rms_norm(o, xr, &w, EPS);
    }

    let xg = GpuTensor::from_slice(g, &x, "x");
    let wg = GpuTensor::from_slice(g, &w, "w");
    let out = GpuTensor::zeros(g, n_tokens * dim, "out");
    kernels::submit(
        g,
        &kernels::rms_norm(g, &xg, &wg, &out, n_tokens, EPS).unwrap(),
    );
    let got: Vec<f32> = out.read(g).await.unwrap();

    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        let err = (a - b).abs();
        assert!(
            err <= REL_TOL * b.abs(),
            "rms_norm {n_tokens}×{dim}, row {} col {}: got {a:e} want {b:e} (|diff| {err:e})",
            i / dim,
            i % dim
        );
    }
}

/// x += rms_norm(y) · w on `n_tokens` random rows of `dim` (y scaled by [`ROW_SCALES`], x
/// random residuals) against the CPU, within [`REL_TOL`] of |x| + |rms_norm(y) · w| (the
/// add's inputs: the norm's error is relative to its own size).
pub async fn check_add(g: &Gpu, n_tokens: usize, dim: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    let y: Vec<f32> = (0..n_tokens * dim)
        .map(|i| rng.f32() * ROW_SCALES[i / dim % ROW_SCALES.len()])
        .collect();
    let x: Vec<f32> = rng.vec(n_tokens * dim).iter().map(|v| 4.0 * v).collect();
    let w = rng.vec(dim);
    let mut want = x.clone();
    let mut normed = vec![0.0; n_tokens * dim];
    for ((o, yr), nr) in want
        .chunks_exact_mut(dim)
        .zip(y.chunks_exact(dim))
        .zip(normed.chunks_exact_mut(dim))
    {
        ops::norm_add(o, yr, &w, EPS);
        ops::rms_norm(nr, yr, &w, EPS);
    }

    let xg = GpuTensor::from_slice(g, &x, "x");
    let yg = GpuTensor::from_slice(g, &y, "y");
    let wg = GpuTensor::from_slice(g, &w, "w");
    kernels::submit(
        g,
        &kernels::norm_add(g, &xg, &yg, &wg, n_tokens, EPS).unwrap(),
    );
    let got: Vec<f32> = xg.read(g).await.unwrap();

    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        let err = (a - b).abs();
        let mag = x[i].abs() + normed[i].abs();
        assert!(
            err <= REL_TOL * mag,
            "norm_add {n_tokens}×{dim}, row {} col {}: got {a:e} want {b:e} (|diff| {err:e})",
            i / dim,
            i % dim
        );
    }
}
