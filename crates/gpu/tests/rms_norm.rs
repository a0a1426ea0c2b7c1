//! rms_norm.wgsl against its CPU twin, `hearth_model::ops::rms_norm`, row by row: dims that
//! are not multiples of the workgroup up to 8192, rows small enough for eps to matter, and
//! enough rows for the 2-D dispatch; and with ACCUMULATE (`kernels::norm_add`) against
//! `ops::norm_add`.

// native only (blocking calls); tests/browser.rs runs the kernel checks on the web
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::rms_norm::{EPS, check, check_add};
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
fn norm_add_rows_match_the_cpu() {
    let g = gpu();
    // decode at Gemma 3 270M's width and at 1B's; prefill rows of odd widths
    block_on(check_add(&g, 1, 640, 11));
    block_on(check_add(&g, 1, 1152, 12));
    block_on(check_add(&g, 7, 1000, 13));
    block_on(check_add(&g, 5, 1, 14));
    block_on(check_add(&g, 3, 255, 15));
}

#[test]
fn norm_add_many_rows_use_a_2d_grid() {
    block_on(check_add(&gpu(), 70_001, 3, 16));
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
    // norm_add: x += rms_norm(y) · w, x another buffer than y
    assert!(kernels::norm_add(&g, &out, &x, &w, 2, EPS).is_ok());
    assert!(kernels::norm_add(&g, &small, &x, &w, 2, EPS).is_err());
    assert!(kernels::norm_add(&g, &out, &small, &w, 2, EPS).is_err());
    assert!(kernels::norm_add(&g, &x, &x, &w, 2, EPS).is_err());
    assert!(kernels::norm_add(&g, &out, &x, &empty, 2, EPS).is_err());
}
