//! rms_norm.wgsl against its CPU twin, `hearth_model::ops::rms_norm`, row by row: dims that
//! are not multiples of the workgroup up to 8192, rows small enough for eps to matter, and
//! enough rows for the 2-D dispatch.

mod common;

use common::{Rng, gpu};
use hearth_gpu::{Gpu, GpuTensor, kernels};
use hearth_model::ops;

/// Allowed error relative to |want|. Both sides sum dim squares in f32, in other orders: the
/// twin's running sum errs by about 2⁻²⁴ · √(dim / 3) relative (3e-6 at dim 8192; its worst
/// case, dim · 2⁻²⁴, is never reached by random data), the kernel's strided-then-tree sum by
/// less; the scale takes half of that, plus a few roundings. Tight enough to see dividing by
/// dim ± 1 (1/(2·dim) ≥ 6e-5) or eps outside the square root.
const REL_TOL: f32 = 1e-5;

/// Llama's usual `llama.attention.layer_norm_rms_epsilon`.
const EPS: f32 = 1e-5;

/// Row scales, cycled: typical activations, rows whose mean square (3e-7) is below eps,
/// and large ones.
const ROW_SCALES: [f32; 3] = [1.0, 1e-3, 100.0];

fn check(g: &Gpu, n_tokens: usize, dim: usize, seed: u64) {
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
    let got: Vec<f32> = out.read_blocking(g).unwrap();

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

#[test]
fn rows_match_the_cpu() {
    let g = gpu();
    // decode (one row) at SmolLM2's width; prefill rows of odd widths; Llama 8B-size rows
    check(&g, 1, 576, 1);
    check(&g, 7, 1000, 2);
    check(&g, 5, 1, 3);
    check(&g, 3, 255, 4);
    check(&g, 4, 8192, 5);
}

#[test]
fn many_rows_use_a_2d_grid() {
    check(&gpu(), 70_001, 3, 6);
}

#[test]
fn bad_shapes_are_errors() {
    let g = gpu();
    let x = GpuTensor::zeros(&g, 20, "x");
    let w = GpuTensor::zeros(&g, 10, "w");
    let small = GpuTensor::zeros(&g, 19, "small");
    let empty = GpuTensor::zeros(&g, 0, "empty");
    let out = GpuTensor::zeros(&g, 20, "out");
    assert!(kernels::rms_norm(&g, &x, &w, &small, 2, EPS).is_err());
    assert!(kernels::rms_norm(&g, &small, &w, &x, 2, EPS).is_err());
    assert!(kernels::rms_norm(&g, &x, &w, &out, 2, EPS).is_ok());
    assert!(kernels::rms_norm(&g, &x, &empty, &out, 2, EPS).is_err());
    assert!(kernels::rms_norm(&g, &x, &w, &x, 2, EPS).is_err());
}
