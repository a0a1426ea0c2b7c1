//! matmul.wgsl against its CPU twin, `hearth_model::ops::matvec` of each token on
//! dequantized weights, for every GPU weight format; token counts, rows and columns that
//! are not multiples of the tiles; weights split across buffers; and against matvec.wgsl
//! for a single token.

// native only (blocking calls); tests/browser.rs runs the kernel checks on the web
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::matmul::{Case, MATVEC_REL_TOL, TOKEN_COUNTS};
use common::{Rng, block_on, gpu, random_weights};
use hearth_gguf::GgmlType;
use hearth_gpu::{FORMATS, GpuTensor, GpuWeights, kernels};

#[test]
fn every_format_matches_the_cpu() {
    let g = gpu();
    for (i, &ty) in FORMATS.iter().enumerate() {
        let be = ty.block_elems().max(8);
        for (j, n_tokens) in TOKEN_COUNTS.into_iter().enumerate() {
            // rows: one full row tile and a partial one; columns: an odd number of blocks
            // (for 8-weight blocks, a partial step of chunks too)
            let case = Case::new(ty, 70, be * 7, n_tokens, (i * 10 + j) as u64);
            block_on(case.check(&g, false));
            block_on(case.check(&g, true));
        }
    }
}

#[test]
fn rows_and_tokens_below_one_tile() {
    let g = gpu();
    block_on(Case::new(GgmlType::Q8_0, 5, 32, 3, 40).check(&g, false));
    block_on(Case::new(GgmlType::F32, 1, 8, 1, 41).check(&g, true));
}

#[test]
fn split_buffers() {
    let mut g = gpu();
    // Q4_1: 5 words per 32 weights, rows padded to 16 bytes
    let row_bytes = (576 / 32 * 5 * 4usize).next_multiple_of(16) as u64;
    // parts of 9 rows (each below one row tile) and of 70 (a tile and a bit): each part
    // writes its own columns of Y for every token
    for (part_rows, seed) in [(9, 50), (70, 51)] {
        g.max_binding_bytes = part_rows * row_bytes;
        for n_tokens in [7, 100] {
            let case = Case::new(GgmlType::Q4_1, 200, 576, n_tokens, seed);
            let parts = GpuWeights::upload(&g, "w", case.ty, 200, 576, &case.bytes)
                .unwrap()
                .parts
                .len();
            assert_eq!(parts, 200usize.div_ceil(part_rows as usize));
            block_on(case.check(&g, false));
            block_on(case.check(&g, true));
        }
    }
}

#[test]
fn one_token_agrees_with_matvec() {
    let g = gpu();
    for (i, &ty) in FORMATS.iter().enumerate() {
        let case = Case::new(ty, 300, ty.block_elems().max(8) * 5, 1, 60 + i as u64);
        for accumulate in [false, true] {
            let got = block_on(case.gpu(&g, accumulate));
            let w = GpuWeights::upload(&g, "w", ty, case.rows, case.cols, &case.bytes).unwrap();
            let xg = GpuTensor::from_slice(&g, &case.x, "x");
            let yg = GpuTensor::from_slice(&g, &case.y0, "y");
            kernels::submit(&g, &kernels::matvec(&g, &w, &xg, &yg, accumulate).unwrap());
            let want: Vec<f32> = yg.read_blocking(&g).unwrap();
            case.assert_close("matmul vs matvec", &got, &want, MATVEC_REL_TOL, accumulate);
        }
    }
}

#[test]
fn bad_shapes_are_errors() {
    let g = gpu();
    let mut rng = Rng::new(9);
    let bytes = random_weights(&mut rng, GgmlType::Q8_0, 4, 64);
    let w = GpuWeights::upload(&g, "w", GgmlType::Q8_0, 4, 64, &bytes).unwrap();
    let x = GpuTensor::zeros(&g, 3 * 64, "x");
    let y = GpuTensor::zeros(&g, 3 * 4, "y");
    assert!(kernels::matmul(&g, &w, &x, 3, &y, false).is_ok());
    // x or y too short for the tokens
    assert!(kernels::matmul(&g, &w, &x, 4, &y, false).is_err());
    let short_y = GpuTensor::zeros(&g, 3 * 4 - 1, "y");
    assert!(kernels::matmul(&g, &w, &x, 3, &short_y, false).is_err());
    // no tokens: nothing to dispatch
    assert!(
        kernels::matmul(&g, &w, &x, 0, &y, false)
            .unwrap()
            .is_empty()
    );
}
