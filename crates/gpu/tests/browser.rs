//! The kernel tests in the browser: every kernel against its CPU twin on WebGPU (headless
//! chromium: SwiftShader, no `shader-f16`; Tint compiles the WGSL, not naga), with the
//! checks, tolerances and (mostly) sizes of the native tests: the checks live in
//! `tests/common/`, shared. Run by `scripts/test-browser-kernels` (wasm-bindgen-test in a
//! dedicated worker, where the engine runs in the product; about 100 s).
//!
//! Each check runs inside error scopes: a shader Tint rejects, or any other GPU error, fails
//! the test instead of reading zeros. (The device's uncaptured-error handler alone is not
//! enough here: on the web an error may reach it only after the next readback has
//! returned; see `a_rejected_shader_fails_a_readback`.) No adapter fails too.
#![cfg(target_arch = "wasm32")]

mod common;

use std::future::Future;

use common::{Rng, gpu};
use common::{
    attention, embedding, kv_store, matmul, matvec, rms_norm, rope, rope_store, sample, silu_mul,
};
use hearth_gguf::GgmlType;
use hearth_gpu::kernels::{AttnHeads, Glu, KvType};
use hearth_gpu::{FORMATS, Gpu, GpuTensor};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Awaits `check` inside validation, out-of-memory and internal error scopes; an error in
/// any of them, or one the device reported outside them, fails the test naming `what`.
async fn scoped(g: &Gpu, what: &str, check: impl Future<Output = ()>) {
    let scopes = [
        wgpu::ErrorFilter::Validation,
        wgpu::ErrorFilter::OutOfMemory,
        wgpu::ErrorFilter::Internal,
    ]
    .map(|f| g.device.push_error_scope(f));
    check.await;
    for scope in scopes.into_iter().rev() {
        if let Some(e) = scope.pop().await {
            panic!("{what}: GPU error: {e}");
        }
    }
    if let Err(e) = g.check() {
        panic!("{what}: {e}");
    }
}

#[wasm_bindgen_test]
async fn matvec_every_format_every_path() {
    let mut g = gpu().await;
    for &path in matvec::paths(&g).iter().rev() {
        path.set(&mut g);
        for (i, &ty) in FORMATS.iter().enumerate() {
            let what = format!("matvec {ty:?}, {path:?}");
            let be = ty.block_elems().max(8);
            // columns: an odd number of blocks; rows: not a multiple of anything
            scoped(&g, &what, async {
                matvec::check(&g, ty, 37, be * 7, i as u64, false).await;
                matvec::check(&g, ty, 1000, be * 3, 100 + i as u64, true).await;
            })
            .await;
        }
    }
}

#[wasm_bindgen_test]
async fn matvec_long_rows_and_split_buffers() {
    for &path in matvec::paths(&gpu().await) {
        let mut g = gpu().await;
        path.set(&mut g);
        let what = format!("matvec, {path:?}");
        scoped(&g, &format!("{what}: long rows"), async {
            matvec::check(&g, GgmlType::Q4_1, 3, 32 * 161, 7, false).await;
            // x too long for a uniform binding: matvec.wgsl even on the rowwise setting
            matvec::check(&g, GgmlType::Q8_0, 5, 32 * 520, 9, true).await;
        })
        .await;
        // 100 rows in parts of 9: each part writes its own slice of y
        g.max_binding_bytes = 9 * (576 / 32 * 20) as u64;
        scoped(&g, &format!("{what}: split buffers"), async {
            matvec::check(&g, GgmlType::Q4_1, 100, 576, 8, true).await;
        })
        .await;
    }
}

#[wasm_bindgen_test]
async fn matvec_fused_norm_segments_and_glu() {
    let mut g = gpu().await;
    for &path in matvec::fused_paths(&g) {
        path.set(&mut g);
        for (i, &ty) in FORMATS.iter().enumerate() {
            let cols = ty.block_elems().max(8) * 3;
            let what = format!("fused matvec {ty:?}, {path:?}");
            scoped(&g, &what, async {
                for (j, &(rows, norm, glu, accumulate)) in matvec::FUSIONS.iter().enumerate() {
                    let f = matvec::Fusion {
                        rows,
                        cols,
                        norm,
                        glu,
                        accumulate,
                    };
                    matvec::check_fused(&g, ty, &f, (i * 10 + j) as u64).await;
                }
            })
            .await;
        }
    }
}

#[wasm_bindgen_test]
async fn matvec_fused_geglu() {
    let mut g = gpu().await;
    for &path in matvec::fused_paths(&g) {
        path.set(&mut g);
        for (i, &ty) in matvec::GEGLU_FORMATS.iter().enumerate() {
            let cols = ty.block_elems().max(8) * 9;
            let what = format!("fused GeGLU matvec {ty:?}, {path:?}");
            scoped(&g, &what, async {
                for (j, &(rows, norm, glu, accumulate)) in matvec::GEGLU_FUSIONS.iter().enumerate()
                {
                    let f = matvec::Fusion {
                        rows,
                        cols,
                        norm,
                        glu,
                        accumulate,
                    };
                    matvec::check_fused(&g, ty, &f, (200 + i * 10 + j) as u64).await;
                }
            })
            .await;
        }
    }
}

#[wasm_bindgen_test]
async fn matmul_every_format_and_token_count() {
    let g = gpu().await;
    for (i, &ty) in FORMATS.iter().enumerate() {
        let be = ty.block_elems().max(8);
        for (j, n_tokens) in matmul::TOKEN_COUNTS.into_iter().enumerate() {
            // rows: one full row tile and a partial one; columns: an odd number of blocks
            let case = matmul::Case::new(ty, 70, be * 7, n_tokens, (i * 10 + j) as u64);
            let what = format!("matmul {ty:?}, {n_tokens} tokens");
            scoped(&g, &what, async {
                case.check(&g, false).await;
                case.check(&g, true).await;
            })
            .await;
        }
    }
}

#[wasm_bindgen_test]
async fn matmul_small_and_split_buffers() {
    let mut g = gpu().await;
    scoped(&g, "matmul below one tile", async {
        matmul::Case::new(GgmlType::Q8_0, 5, 32, 3, 40)
            .check(&g, false)
            .await;
        matmul::Case::new(GgmlType::F32, 1, 8, 1, 41)
            .check(&g, true)
            .await;
    })
    .await;
    // Q4_1 in parts of 9 rows (below one row tile) and of 70 (a tile and a bit)
    let row_bytes = (576 / 32 * 5 * 4usize).next_multiple_of(16) as u64;
    for (part_rows, seed) in [(9, 50), (70, 51)] {
        g.max_binding_bytes = part_rows * row_bytes;
        for n_tokens in [7, 100] {
            let case = matmul::Case::new(GgmlType::Q4_1, 200, 576, n_tokens, seed);
            let what = format!("matmul split in parts of {part_rows} rows, {n_tokens} tokens");
            scoped(&g, &what, async {
                case.check(&g, false).await;
                case.check(&g, true).await;
            })
            .await;
        }
    }
}

#[wasm_bindgen_test]
async fn embedding_every_format_bit_exactly() {
    let g = gpu().await;
    scoped(
        &g,
        "embedding, random weights",
        embedding::every_format_bit_exactly(&g),
    )
    .await;
    scoped(
        &g,
        "embedding, random bytes",
        embedding::random_bytes_and_subnormal_scales(&g),
    )
    .await;
    scoped(&g, "embedding, scaled", embedding::every_format_scaled(&g)).await;
}

#[wasm_bindgen_test]
async fn rms_norm_rows() {
    let g = gpu().await;
    // decode at SmolLM2's width, prefill rows of odd widths, Llama 8B-size rows, and
    // enough rows for the 2-D grid
    for (i, (n_tokens, dim)) in [
        (1, 576),
        (7, 1000),
        (5, 1),
        (3, 255),
        (4, 8192),
        (70_001, 3),
    ]
    .into_iter()
    .enumerate()
    {
        let what = format!("rms_norm {n_tokens}×{dim}");
        scoped(&g, &what, rms_norm::check(&g, n_tokens, dim, i as u64 + 1)).await;
    }
}

#[wasm_bindgen_test]
async fn norm_add_rows() {
    let g = gpu().await;
    // decode at Gemma 3 270M's and 1B's widths, prefill rows of odd widths, the 2-D grid
    for (i, (n_tokens, dim)) in [
        (1, 640),
        (1, 1152),
        (7, 1000),
        (5, 1),
        (3, 255),
        (70_001, 3),
    ]
    .into_iter()
    .enumerate()
    {
        let what = format!("norm_add {n_tokens}×{dim}");
        let check = rms_norm::check_add(&g, n_tokens, dim, i as u64 + 11);
        scoped(&g, &what, check).await;
    }
}

#[wasm_bindgen_test]
async fn rope_sliding_window_layers_use_their_own_table() {
    let g = gpu().await;
    let check = rope::local_and_global_tables(&g);
    scoped(&g, "rope, local and global tables", check).await;
}

#[wasm_bindgen_test]
async fn rope_with_and_without_freq_factors() {
    let g = gpu().await;
    let mut rng = Rng::new(100);
    for (i, c) in rope::cases(&mut rng).iter().enumerate() {
        let what = format!(
            "rope {}×{}×{} over {} dims at {}, freq factors {}",
            c.n_tokens,
            c.n_heads,
            c.head_dim,
            c.rope.dim,
            c.pos,
            c.rope.freq_factors.is_some()
        );
        scoped(&g, &what, rope::check(&g, c, i as u64)).await;
    }
}

#[wasm_bindgen_test]
async fn silu_mul_random_and_large_gates() {
    let g = gpu().await;
    let mut rng = Rng::new(1);
    let gate: Vec<f32> = rng.vec(1000).iter().map(|v| v * 12.0).collect();
    let up = rng.vec(1000);
    scoped(
        &g,
        "silu_mul, random gates",
        silu_mul::check(&g, &gate, &up),
    )
    .await;

    let gate = silu_mul::large_gates();
    let mut rng = Rng::new(2);
    let up: Vec<f32> = gate.iter().map(|_| rng.f32()).collect();
    scoped(&g, "silu_mul, large gates", silu_mul::check(&g, &gate, &up)).await;

    // long enough for the 2-D grid
    let mut rng = Rng::new(3);
    let gate: Vec<f32> = rng.vec(silu_mul::LONG).iter().map(|v| v * 12.0).collect();
    let up = rng.vec(silu_mul::LONG);
    scoped(&g, "silu_mul, 2-D grid", silu_mul::check(&g, &gate, &up)).await;
}

#[wasm_bindgen_test]
async fn gelu_mul_random_and_large_gates() {
    let g = gpu().await;
    let mut rng = Rng::new(4);
    let gate: Vec<f32> = rng.vec(1000).iter().map(|v| v * 12.0).collect();
    let up = rng.vec(1000);
    let check = silu_mul::check_glu(&g, Glu::Gelu, &gate, &up);
    scoped(&g, "gelu_mul, random gates", check).await;

    let gate = silu_mul::large_gates();
    let up: Vec<f32> = gate.iter().map(|_| rng.f32()).collect();
    let check = silu_mul::check_glu(&g, Glu::Gelu, &gate, &up);
    scoped(&g, "gelu_mul, large gates", check).await;

    // long enough for the 2-D grid
    let mut rng = Rng::new(5);
    let gate: Vec<f32> = rng.vec(silu_mul::LONG).iter().map(|v| v * 6.0).collect();
    let up = rng.vec(silu_mul::LONG);
    let check = silu_mul::check_glu(&g, Glu::Gelu, &gate, &up);
    scoped(&g, "gelu_mul, 2-D grid", check).await;
}

#[wasm_bindgen_test]
async fn add_bit_exactly() {
    let g = gpu().await;
    let long = common::add::LONG;
    for (i, (n, len)) in [(1, 1), (1000, 1000), (577, 1000), (long, long)]
        .into_iter()
        .enumerate()
    {
        let what = format!("add of {n} in {len}");
        scoped(&g, &what, common::add::check(&g, n, len, i as u64 + 1)).await;
    }
    for (rows, width) in [(1, 64), (37, 192)] {
        let what = format!("bias of {rows}×{width}");
        scoped(&g, &what, common::add::check_bias(&g, rows, width, 9)).await;
    }
}

#[wasm_bindgen_test]
async fn kv_store_f32_and_f16() {
    let g = gpu().await;
    scoped(&g, "kv_store", kv_store::prefill_then_decode(&g)).await;
    scoped(&g, "kv_store past n_ctx", kv_store::rows_past_n_ctx(&g)).await;
}

#[wasm_bindgen_test]
async fn rope_store_f32_and_f16() {
    let g = gpu().await;
    for kv in kv_store::TYPES {
        for (i, c) in rope_store::cases().iter().enumerate() {
            let what = format!("rope_store {kv:?} case {i}");
            scoped(&g, &what, rope_store::check(&g, c, kv, i as u64)).await;
        }
    }
}

/// Decode lengths at the edges of the splits, then a short one again (stale splits).
fn decode_lens(n_ctx: usize) -> Vec<usize> {
    let s = attention::SPLIT;
    let mut lens: Vec<usize> = [1, 2, s - 1, s, s + 1, 2 * s + 7]
        .into_iter()
        .filter(|&l| l <= n_ctx)
        .collect();
    lens.extend([n_ctx, 3]);
    lens
}

#[wasm_bindgen_test]
async fn attention_decode_gqa_and_mha_f32_and_f16() {
    let g = gpu().await;
    let s = attention::SPLIT;
    for kv in [KvType::F32, KvType::F16] {
        // SmolLM2's 9 query heads over 3 KV heads of 64; 4 heads of 128
        for (heads, n_ctx, seed) in [(attention::GQA, 2 * s + 9, 1), (attention::MHA, s + 3, 2)] {
            let what = format!("attn_decode + attn_combine {heads:?}, {kv:?} cache");
            let lens = decode_lens(n_ctx);
            let check = attention::decode_lengths_of(&g, heads, n_ctx, &lens, seed, kv);
            scoped(&g, &what, check).await;
        }
    }
}

#[wasm_bindgen_test]
async fn attention_prefill_gqa_and_mha_f32_and_f16() {
    let g = gpu().await;
    for kv in [KvType::F32, KvType::F16] {
        let what = format!("attn_prefill {:?}, {kv:?} cache", attention::GQA);
        // 16 queries per workgroup and 16 keys per tile: 37 tokens is 2 blocks and a part
        let calls = [(0, 37), (37, 1), (300, 21), (310, 40)];
        let check = attention::prefill_calls_of(&g, attention::GQA, 350, 40, &calls, kv);
        scoped(&g, &what, check).await;
        let what = format!("attn_prefill {:?}, {kv:?} cache", attention::MHA);
        let calls = [(0, 13), (5, 13), (80, 7)];
        let check = attention::prefill_calls_of(&g, attention::MHA, 100, 13, &calls, kv);
        scoped(&g, &what, check).await;
    }
    // another head size: dots cut over 3 parts
    let heads = AttnHeads {
        n_head: 6,
        n_head_kv: 2,
        head_dim: 96,
    };
    let check = attention::prefill_calls(&g, heads, 50, 23, &[(0, 23), (11, 15)]);
    scoped(&g, "attn_prefill 6/2 heads of 96", check).await;
}

/// Sliding windows (Gemma 3's local layers): decode within a split, across its edge and
/// wider, after a cache much longer than the window; prefill through windows narrower
/// than a tile, a block and the batch.
#[wasm_bindgen_test]
async fn attention_sliding_windows_f32_and_f16() {
    let g = gpu().await;
    let s = attention::SPLIT;
    let n_ctx = 3 * s + 5;
    let lens = [1, 99, 100, 101, s + 50, 2 * s + 7, n_ctx, 3];
    for kv in [KvType::F32, KvType::F16] {
        for (i, window) in [1, 100, s + 44].into_iter().enumerate() {
            let what = format!("attn_decode + attn_combine, window {window}, {kv:?} cache");
            let heads = attention::GQA;
            let check = attention::decode_windowed(
                &g,
                heads,
                n_ctx,
                &lens,
                Some(window),
                40 + i as u64,
                kv,
            );
            scoped(&g, &what, check).await;
        }
        let calls = [(0, 37), (37, 1), (300, 21), (310, 40)];
        for window in [5, 16, 100] {
            let what = format!("attn_prefill, window {window}, {kv:?} cache");
            let heads = attention::GQA;
            let check = attention::prefill_windowed(&g, heads, 350, 40, &calls, Some(window), kv);
            scoped(&g, &what, check).await;
        }
    }
    let calls = [(0, 13), (5, 13), (80, 7)];
    let check =
        attention::prefill_windowed(&g, attention::MHA, 100, 13, &calls, Some(6), KvType::F32);
    scoped(&g, "attn_prefill MHA, window 6", check).await;
}

#[wasm_bindgen_test]
async fn attention_last_token_and_peaked_scores() {
    let g = gpu().await;
    let check = attention::last_prompt_token_decode_matches_prefill(&g);
    scoped(&g, "attention, decode of the last prompt token", check).await;
    scoped(&g, "attention, peaked scores", attention::peaked_scores(&g)).await;
}

#[wasm_bindgen_test]
async fn sampler_greedy_is_exact() {
    let g = gpu().await;
    let check = sample::greedy_is_exact(&g, &sample::VOCABS);
    scoped(&g, "sampler, greedy", check).await;
}

#[wasm_bindgen_test]
async fn sampler_draws_match_the_cpu() {
    let g = gpu().await;
    let check = sample::draws_match(&g, &sample::VOCABS);
    scoped(&g, "sampler, draws", check).await;
}

#[wasm_bindgen_test]
async fn sampler_masked_picks_match_the_cpu() {
    let g = gpu().await;
    let check = sample::masked_picks_match(&g, &[7, 1000, 49152]);
    scoped(&g, "sampler, masked", check).await;
}

/// A pipeline from WGSL the browser rejects.
fn broken_pipeline(g: &Gpu) -> wgpu::ComputePipeline {
    let module = g.device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("broken"),
        source: wgpu::ShaderSource::Wgsl(
            "@compute @workgroup_size(1) fn main() { let x: f32 = 1u; }".into(),
        ),
    });
    g.device
        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("broken"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        })
}

/// The net under the other tests: a shader the browser rejects is caught by the error
/// scopes of [`scoped`], deterministically.
#[wasm_bindgen_test]
async fn a_rejected_shader_is_caught_by_the_scopes() {
    let g = gpu().await;
    let scope = g.device.push_error_scope(wgpu::ErrorFilter::Validation);
    let _pipeline = broken_pipeline(&g);
    let error = scope.pop().await;
    assert!(error.is_some(), "a broken shader went unreported");
    // and the device works on
    let what = "add after a rejected shader";
    scoped(&g, what, common::add::check(&g, 577, 1000, 3)).await;
}

/// Outside error scopes, the error reaches the device's uncaptured-error handler and a
/// readback returns it. On the web it arrives asynchronously: it may surface only at a
/// later readback than the first after the error (seen here: the shader module's error at
/// the first readback, the pipeline's at the second), so look at a few.
#[wasm_bindgen_test]
async fn a_rejected_shader_fails_a_readback() {
    let g = gpu().await;
    let x = GpuTensor::from_slice(&g, &[1.0f32, 2.0], "x");
    assert_eq!(x.read::<f32>(&g).await.unwrap(), vec![1.0, 2.0]);
    let _pipeline = broken_pipeline(&g);
    let mut reads = Vec::new();
    for _ in 0..10 {
        let read = x.read::<f32>(&g).await;
        let failed = read.is_err();
        reads.push(read);
        if failed {
            break;
        }
    }
    assert!(
        reads.last().is_some_and(|r| r.is_err()),
        "a broken shader went unreported in {} readbacks: {reads:?}",
        reads.len()
    );
}
