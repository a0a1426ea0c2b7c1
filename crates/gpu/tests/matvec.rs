//! matvec.wgsl against its CPU twin, `hearth_model::ops::matvec` on dequantized weights,
//! for every GPU weight format, with sizes that are not multiples of the workgroup.

mod common;

use common::{Rng, gpu, random_weights};
use hearth_gguf::{GgmlType, dequantize_vec};
use hearth_gpu::{FORMATS, Gpu, GpuTensor, GpuWeights, kernels};
use hearth_model::ops;

/// f32 summation in another order than the CPU: allowed error relative to Σ|w·x|.
const REL_TOL: f32 = 1e-5;

fn check(g: &Gpu, ty: GgmlType, rows: usize, cols: usize, seed: u64, accumulate: bool) {
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
    let got: Vec<f32> = yg.read_blocking(g).unwrap();

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
            "{ty:?} {rows}×{cols} row {r}: got {} want {} (|diff| {err}, Σ|w·x| {mag})",
            got[r],
            want[r]
        );
    }
}

/// Every path, whatever the adapter would pick: matvec.wgsl with rows shared by 32, 8 or 2
/// invocations (GPUs), and matvec_rowwise.wgsl with 1, 2 or 4 rows per invocation (CPU
/// drivers).
const PATHS: &[(u32, u32)] = &[(32, 1), (8, 1), (2, 1), (1, 1), (1, 2), (1, 4)];

#[test]
fn every_format_matches_the_cpu() {
    let mut g = gpu();
    for &(row_threads, rows) in PATHS {
        g.matvec_row_threads = row_threads;
        g.matvec_rows = rows;
        for (i, &ty) in FORMATS.iter().enumerate() {
            let be = ty.block_elems().max(8);
            // columns: an odd number of blocks; rows: not a multiple of anything
            check(&g, ty, 37, be * 7, i as u64, false);
            check(&g, ty, 1000, be * 3, 100 + i as u64, true);
        }
    }
}

#[test]
fn long_rows_and_split_buffers() {
    for &(row_threads, rows) in PATHS {
        let mut g = gpu();
        g.matvec_row_threads = row_threads;
        g.matvec_rows = rows;
        check(&g, GgmlType::Q4_1, 3, 32 * 161, 7, false);
        // x too long for a uniform binding: matvec.wgsl even on the rowwise setting
        check(&g, GgmlType::Q8_0, 5, 32 * 520, 9, true);
        // 100 rows in parts of 9: each part writes its own slice of y
        g.max_binding_bytes = 9 * (576 / 32 * 20) as u64;
        check(&g, GgmlType::Q4_1, 100, 576, 8, true);
    }
}

#[test]
fn bad_shapes_are_errors() {
    let g = gpu();
    let mut rng = Rng::new(9);
    let bytes = random_weights(&mut rng, GgmlType::Q8_0, 4, 64);
    let w = GpuWeights::upload(&g, "w", GgmlType::Q8_0, 4, 64, &bytes).unwrap();
    let x = GpuTensor::zeros(&g, 32, "x");
    let y = GpuTensor::zeros(&g, 4, "y");
    assert!(kernels::matvec(&g, &w, &x, &y, false).is_err());
    assert!(GpuWeights::upload(&g, "w", GgmlType::Q8_0, 5, 64, &bytes).is_err());
}
