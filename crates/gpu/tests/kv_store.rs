//! kv_store.wgsl against the expected caches (its twin is a copy, rounded to f16 for an f16
//! cache), for both cache types: a prefill and a decode step into caches that already hold
//! other rows, a call running past n_ctx, and the check that the Rust and WGSL `Step`
//! structs have the same size. f32 caches must match bit for bit; an f16 value must be one
//! of the two f16 neighbours of the f32 (WGSL lets pack2x16float round either way).

// native only (blocking calls); tests/browser.rs runs the kernel checks on the web
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::kv_store::{KV_DIM, N_CTX, prefill_then_decode, rows_past_n_ctx};
use common::{block_on, gpu};
use hearth_gpu::GpuTensor;
use hearth_gpu::kernels::{self, KvType, Step};

#[test]
fn prefill_then_decode_land_in_their_rows() {
    block_on(prefill_then_decode(&gpu()));
}

#[test]
fn rows_past_n_ctx_are_not_written() {
    block_on(rows_past_n_ctx(&gpu()));
}

/// Binding a `Step` buffer succeeds, and one 4 bytes shorter fails: the WGSL struct (whose
/// size wgpu takes as the binding's minimum) is exactly `size_of::<Step>()` bytes. Field
/// order is checked by the other tests, which read `pos` at its place among nonzero fields.
#[test]
fn rust_and_wgsl_step_have_the_same_size() {
    let g = gpu();
    let k = GpuTensor::zeros(&g, KV_DIM, "k");
    let k_cache = GpuTensor::zeros(&g, N_CTX * KV_DIM, "k_cache");
    let v_cache = GpuTensor::zeros(&g, N_CTX * KV_DIM, "v_cache");
    let bind_with = |bytes: usize| {
        let step = g.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("step"),
            size: bytes as u64,
            usage: wgpu::BufferUsages::UNIFORM,
            mapped_at_creation: false,
        });
        let scope = g.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let ops = kernels::kv_store(
            &g,
            &k,
            &k,
            &k_cache,
            &v_cache,
            KvType::F32,
            &step,
            1,
            KV_DIM,
        );
        let error = pollster::block_on(scope.pop());
        assert!(ops.is_ok());
        error
    };
    let size = size_of::<Step>();
    assert_eq!(size, 16);
    assert!(bind_with(size).is_none());
    let short = bind_with(size - 4).expect("a short Step buffer must not bind");
    assert!(short.to_string().contains("ind"), "{short}");
}

#[test]
fn bad_shapes_are_errors() {
    let g = gpu();
    let step = Step::default().buffer(&g);
    let k = GpuTensor::zeros(&g, 2 * KV_DIM, "k");
    let short = GpuTensor::zeros(&g, 2 * KV_DIM - 1, "short");
    let kc = GpuTensor::zeros(&g, N_CTX * KV_DIM, "k_cache");
    let vc = GpuTensor::zeros(&g, N_CTX * KV_DIM, "v_cache");
    let small = GpuTensor::zeros(&g, N_CTX * KV_DIM - KV_DIM, "small cache");
    let store = |k: &GpuTensor, v: &GpuTensor, kc: &GpuTensor, vc: &GpuTensor, kv_dim| {
        kernels::kv_store(&g, k, v, kc, vc, KvType::F32, &step, 2, kv_dim)
    };
    assert!(store(&k, &k, &kc, &vc, KV_DIM).is_ok());
    assert!(store(&k, &short, &kc, &vc, KV_DIM).is_err());
    assert!(store(&k, &k, &kc, &small, KV_DIM).is_err());
    assert!(store(&k, &k, &kc, &vc, 0).is_err());
    // rows that are not whole vec4s
    assert!(store(&k, &k, &kc, &vc, 50).is_err());
    // one buffer for both caches, or a cache that is also a source
    assert!(store(&k, &k, &kc, &kc, KV_DIM).is_err());
    assert!(store(&k, &k, &kc, &k, KV_DIM).is_err());
    // an f16 cache holds two values a word: half the words of f32 suffice
    let half_c = GpuTensor::zeros(&g, N_CTX * KV_DIM / 2, "f16 k_cache");
    let half_v = GpuTensor::zeros(&g, N_CTX * KV_DIM / 2, "f16 v_cache");
    let f16_store = kernels::kv_store(&g, &k, &k, &half_c, &half_v, KvType::F16, &step, 2, KV_DIM);
    assert!(f16_store.is_ok());
}
