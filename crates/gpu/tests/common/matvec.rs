//! matvec.wgsl / matvec_rowwise.wgsl against `hearth_model::ops::matvec` on dequantized
//! weights.

use hearth_gguf::{GgmlType, dequantize_vec};
use hearth_gpu::{Gpu, GpuTensor, GpuWeights, kernels};
use hearth_model::ops;

use super::{Rng, random_weights};

/// f32 summation in another order than the CPU: allowed error relative to Σ|w·x|.
pub const REL_TOL: f32 = 1e-5;

/// Every path, whatever the adapter would pick, as (`matvec_row_threads`, `matvec_rows`):
/// matvec.wgsl with rows shared by 32, 8 or 2 invocations (GPUs), and matvec_rowwise.wgsl
/// with 1, 2 or 4 rows per invocation (CPU drivers).
pub const PATHS: &[(u32, u32)] = &[(32, 1), (8, 1), (2, 1), (1, 1), (1, 2), (1, 4)];

/// A random `rows` × `cols` matvec of type `ty` (adding to a random y with `accumulate`)
/// on the GPU against the CPU, row by row within [`REL_TOL`] · Σ|w·x|.
pub async fn check(g: &Gpu, ty: GgmlType, rows: usize, cols: usize, seed: u64, accumulate: bool) {
    let mut rng = Rng::new(seed);
    let bytes = random_weights(&mut rng, ty, rows, cols);
    let x = rng.vec(cols);
    let y0 = rng.vec(rows);
    let wf = dequantize_vec(ty, &bytes).unwrap();
    let mut want = vec![0.0; rows];
    ops::matvec(&mut want, &wf, &x);
    if accumulate {
        ops::add(&mut want, &y0);
    }

    let w = GpuWeights::upload(g, "w", ty, rows, cols, &bytes).unwrap();
    let xg = GpuTensor::from_slice(g, &x, "x");
    let yg = GpuTensor::from_slice(g, &y0, "y");
    kernels::submit(g, &kernels::matvec(g, &w, &xg, &yg, accumulate).unwrap());
    let got: Vec<f32> = yg.read(g).await.unwrap();

    let path = (g.matvec_row_threads, g.matvec_rows);
    for r in 0..rows {
        let mag: f32 = wf[r * cols..][..cols]
            .iter()
            .zip(&x)
            .map(|(a, b)| (a * b).abs())
            .sum::<f32>()
            + if accumulate { y0[r].abs() } else { 0.0 };
        let err = (got[r] - want[r]).abs();
        assert!(
            err <= REL_TOL * mag + 1e-6,
            "matvec {ty:?} {rows}×{cols} (row threads, rows) {path:?} row {r}: got {} want {} \
             (|diff| {err}, Σ|w·x| {mag})",
            got[r],
            want[r]
        );
    }
}
