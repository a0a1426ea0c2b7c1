//! add.wgsl against its CPU twin, `hearth_model::ops::add`: bit for bit (one correctly
//! rounded f32 addition on each side), with a length that is not a multiple of the
//! workgroup and one long enough for the 2-D dispatch; a bias added to every row.

// native only (blocking calls); tests/browser.rs runs the kernel checks on the web
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::add::{LONG, check, check_bias};
use common::{block_on, gpu};
use hearth_gpu::{GpuTensor, kernels};

#[test]
fn matches_the_cpu_bit_for_bit() {
    let g = gpu();
    block_on(check(&g, 1, 1, 1));
    block_on(check(&g, 1000, 1000, 2));
    block_on(check(&g, 577, 1000, 3));
}

#[test]
fn a_bias_on_every_row_matches_the_cpu_bit_for_bit() {
    let g = gpu();
    block_on(check_bias(&g, 1, 64, 5));
    block_on(check_bias(&g, 37, 192, 6));
    block_on(check_bias(&g, 5, 577, 7));
}

#[test]
fn long_vectors_use_a_2d_grid() {
    block_on(check(&gpu(), LONG, LONG, 4));
}

#[test]
fn bad_shapes_are_errors() {
    let g = gpu();
    let x = GpuTensor::zeros(&g, 10, "x");
    let y = GpuTensor::zeros(&g, 9, "y");
    assert!(kernels::add(&g, &x, &y, 10).is_err());
    assert!(kernels::add(&g, &y, &x, 10).is_err());
    assert!(kernels::add(&g, &x, &x, 10).is_err());
    // a bias of 9 over 2 rows needs 18 floats of x
    let x = GpuTensor::zeros(&g, 17, "x");
    assert!(kernels::add_bias(&g, &x, &y, 2).is_err());
    assert!(kernels::add_bias(&g, &x, &x, 1).is_err());
}
