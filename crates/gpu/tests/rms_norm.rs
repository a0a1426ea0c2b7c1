//! rms_norm.wgsl against its CPU twin, `hearth_model::ops::rms_norm`, row by row: dims that
//! are not multiples of the workgroup up to 8192, rows small enough for eps to matter, and
//! enough rows for the 2-D dispatch.

// native only (blocking calls); tests/browser.rs runs the kernel checks on the web
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::rms_norm::{EPS, check};
use common::{block_on, gpu};
use hearth_gpu::{GpuTensor, kernels};

#[test]
fn rows_match_the_cpu() {
    let g = gpu();
    // decode (one row) at SmolLM2's width; prefill rows of odd widths; Llama 8B-size rows
    block_on(check(&g, 1, 576, 1));
    block_on(check(&g, 7, 1000, 2));
    block_on(check(&g, 5, 1, 3));
    block_on(check(&g, 3, 255, 4));
    block_on(check(&g, 4, 8192, 5));
}

#[test]
fn many_rows_use_a_2d_grid() {
    block_on(check(&gpu(), 70_001, 3, 6));
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
