//! matvec.wgsl against its CPU twin, `hearth_model::ops::matvec` on dequantized weights,
//! for every GPU weight format, with sizes that are not multiples of the workgroup.

// native only (blocking calls); tests/browser.rs runs the kernel checks on the web
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::matvec::{
    FUSIONS, Fusion, GEGLU_FORMATS, GEGLU_FUSIONS, check, check_fused, fused_paths, paths,
};
use common::{Rng, block_on, gpu, random_weights};
use hearth_gguf::GgmlType;
use hearth_gpu::{FORMATS, GpuTensor, GpuWeights, kernels};

#[test]
fn every_format_matches_the_cpu() {
    let mut g = gpu();
    for &path in paths(&g) {
        path.set(&mut g);
        for (i, &ty) in FORMATS.iter().enumerate() {
            let be = ty.block_elems().max(8);
            // columns: an odd number of blocks; rows: not a multiple of anything
            block_on(check(&g, ty, 37, be * 7, i as u64, false));
            block_on(check(&g, ty, 1000, be * 3, 100 + i as u64, true));
        }
    }
}

#[test]
fn long_rows_and_split_buffers() {
    for &path in paths(&gpu()) {
        let mut g = gpu();
        path.set(&mut g);
        block_on(check(&g, GgmlType::Q4_1, 3, 32 * 161, 7, false));
        // x too long for a uniform binding: matvec.wgsl even on the rowwise setting
        block_on(check(&g, GgmlType::Q8_0, 5, 32 * 520, 9, true));
        // 100 rows in parts of 9: each part writes its own slice of y
        g.max_binding_bytes = 9 * (576 / 32 * 20) as u64;
        block_on(check(&g, GgmlType::Q4_1, 100, 576, 8, true));
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

#[test]
fn fused_norm_segments_and_glu_match_the_cpu() {
    let mut g = gpu();
    for &path in fused_paths(&g) {
        path.set(&mut g);
        for (i, &ty) in FORMATS.iter().enumerate() {
            let cols = ty.block_elems().max(8) * 3;
            for (j, &(rows, norm, glu, accumulate)) in FUSIONS.iter().enumerate() {
                let f = Fusion {
                    rows,
                    cols,
                    norm,
                    glu,
                    accumulate,
                };
                block_on(check_fused(&g, ty, &f, (i * 10 + j) as u64));
            }
        }
    }
}

/// The GeGLU mode (GLU with GELU, Gemma's gate and up) on every fused path.
#[test]
fn fused_geglu_matches_the_cpu() {
    let mut g = gpu();
    for &path in fused_paths(&g) {
        path.set(&mut g);
        for (i, &ty) in GEGLU_FORMATS.iter().enumerate() {
            let cols = ty.block_elems().max(8) * 9;
            for (j, &(rows, norm, glu, accumulate)) in GEGLU_FUSIONS.iter().enumerate() {
                let f = Fusion {
                    rows,
                    cols,
                    norm,
                    glu,
                    accumulate,
                };
                block_on(check_fused(&g, ty, &f, (200 + i * 10 + j) as u64));
            }
        }
    }
}

#[test]
fn fused_matvec_over_split_buffers() {
    for &path in paths(&gpu()) {
        let mut g = gpu();
        path.set(&mut g);
        // parts of 9 rows: more segments than one dispatch binds, and GLU part by part
        g.max_binding_bytes = 9 * (576 / 32 * 20) as u64;
        for (j, &(rows, norm, glu, accumulate)) in FUSIONS.iter().chain(GEGLU_FUSIONS).enumerate() {
            let f = Fusion {
                rows,
                cols: 576,
                norm,
                glu,
                accumulate,
            };
            block_on(check_fused(&g, GgmlType::Q4_1, &f, 50 + j as u64));
        }
    }
}
