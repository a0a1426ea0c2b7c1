//! attn_decode.wgsl + attn_combine.wgsl (flash-decoding) and attn_prefill.wgsl (causal,
//! tiled) against their CPU twin, `hearth_model::ops::attention` of each query head over
//! the cache rows it may see, for GQA (SmolLM2's 9/3 heads of 64), MHA, MQA and other head
//! sizes, with random caches whose rows past kv_len hold stale values that must be ignored,
//! in f32 and in f16 (whose twin reads the same f16 values, widened); and through sliding
//! windows (the last w positions: Gemma 3's local layers) shorter and longer than a split,
//! a tile or a prefill batch.

// native only (blocking calls); tests/browser.rs runs the kernel checks on the web
#![cfg(not(target_arch = "wasm32"))]

mod common;

use KvType::F32;
use common::attention::{
    GQA, MHA, MQA, SPLIT, decode_lengths, decode_lengths_of, decode_windowed,
    last_prompt_token_decode_matches_prefill, peaked_scores, prefill_calls, prefill_calls_of,
    prefill_windowed,
};
use common::{block_on, gpu};
use hearth_gpu::GpuTensor;
use hearth_gpu::kernels::{
    AttnHeads, AttnPartials, KvType, Step, attn_combine, attn_decode, attn_prefill,
};

#[test]
fn decode_gqa_every_split_edge() {
    let n_ctx = 3 * SPLIT + 5;
    let lens = [
        1,
        2,
        SPLIT - 1,
        SPLIT,
        SPLIT + 1,
        2 * SPLIT + 7,
        n_ctx,
        3, // back to short: the records of the long runs are stale now
    ];
    block_on(decode_lengths(&gpu(), GQA, n_ctx, &lens, 1));
}

#[test]
fn decode_mha_and_mqa() {
    block_on(decode_lengths(
        &gpu(),
        MHA,
        2 * SPLIT + 3,
        &[1, SPLIT + 1, 2 * SPLIT + 3],
        2,
    ));
    block_on(decode_lengths(
        &gpu(),
        MQA,
        2 * SPLIT,
        &[2, SPLIT, 2 * SPLIT - 1],
        3,
    ));
}

#[test]
fn decode_long_cache_short_prompt() {
    // 16 splits per head dispatched, one used
    block_on(decode_lengths(&gpu(), GQA, 16 * SPLIT, &[1, 3, 40], 4));
}

#[test]
fn decode_other_head_sizes() {
    let heads = |n_head, n_head_kv, head_dim| AttnHeads {
        n_head,
        n_head_kv,
        head_dim,
    };
    block_on(decode_lengths(
        &gpu(),
        heads(2, 1, 256),
        SPLIT + 9,
        &[5, SPLIT + 9],
        5,
    ));
    block_on(decode_lengths(
        &gpu(),
        heads(6, 2, 96),
        SPLIT + 9,
        &[SPLIT + 2],
        6,
    ));
    block_on(decode_lengths(&gpu(), heads(3, 3, 20), 40, &[1, 40], 7));
    block_on(decode_lengths(
        &gpu(),
        heads(5, 5, 4),
        2 * SPLIT,
        &[SPLIT + 100],
        8,
    ));
}

#[test]
fn decode_and_prefill_read_f16_caches() {
    block_on(decode_lengths_of(
        &gpu(),
        GQA,
        2 * SPLIT + 10,
        &[1, SPLIT + 1, 2 * SPLIT + 10, 5],
        21,
        KvType::F16,
    ));
    block_on(decode_lengths_of(&gpu(), MHA, 70, &[70], 22, KvType::F16));
    block_on(prefill_calls_of(
        &gpu(),
        GQA,
        300,
        40,
        &[(0, 37), (250, 40)],
        KvType::F16,
    ));
    block_on(prefill_calls_of(
        &gpu(),
        MHA,
        100,
        13,
        &[(5, 13)],
        KvType::F16,
    ));
}

#[test]
fn prefill_gqa_from_start_and_continuing() {
    // 16 queries per workgroup and 16 keys per tile: 37 tokens is 2 blocks and a part
    block_on(prefill_calls(
        &gpu(),
        GQA,
        600,
        40,
        &[(0, 37), (37, 1), (300, 21), (0, 40), (560, 40)],
    ));
}

#[test]
fn prefill_mha_and_mqa() {
    block_on(prefill_calls(
        &gpu(),
        MHA,
        100,
        13,
        &[(0, 13), (5, 13), (80, 7)],
    ));
    block_on(prefill_calls(&gpu(), MQA, 100, 19, &[(0, 19), (33, 17)]));
}

#[test]
fn prefill_other_head_sizes() {
    let heads = |n_head, n_head_kv, head_dim| AttnHeads {
        n_head,
        n_head_kv,
        head_dim,
    };
    // dots cut over G = 16, 3 and 1 parts; 4 queries per workgroup for 256
    block_on(prefill_calls(
        &gpu(),
        heads(2, 1, 256),
        50,
        9,
        &[(0, 9), (20, 7)],
    ));
    block_on(prefill_calls(
        &gpu(),
        heads(6, 2, 96),
        50,
        23,
        &[(0, 23), (11, 15)],
    ));
    block_on(prefill_calls(
        &gpu(),
        heads(3, 3, 20),
        120,
        60,
        &[(0, 60), (55, 51)],
    ));
}

/// Decode through windows within a split, across a split edge and wider than a split, for
/// caches shorter than the window, as long, and much longer (a decode after a long cache).
#[test]
fn decode_sliding_windows() {
    let n_ctx = 3 * SPLIT + 5;
    let lens = [
        1,
        2,
        99,
        100,
        101,
        SPLIT,
        SPLIT + 50,
        2 * SPLIT + 7,
        n_ctx,
        3, // back to short: the records of the long runs are stale now
    ];
    for (i, window) in [1, 100, SPLIT, SPLIT + 44, 512].into_iter().enumerate() {
        let seed = 40 + i as u64;
        block_on(decode_windowed(
            &gpu(),
            GQA,
            n_ctx,
            &lens,
            Some(window),
            seed,
            F32,
        ));
    }
    // other heads, and an f16 cache
    let lens = [7, SPLIT + 1, 2 * SPLIT + 3];
    block_on(decode_windowed(
        &gpu(),
        MHA,
        2 * SPLIT + 3,
        &lens,
        Some(7),
        45,
        F32,
    ));
    block_on(decode_windowed(
        &gpu(),
        MQA,
        2 * SPLIT + 3,
        &lens,
        Some(300),
        46,
        F32,
    ));
    let lens = [1, 40, SPLIT + 10, 2 * SPLIT + 10];
    let f16 = KvType::F16;
    block_on(decode_windowed(
        &gpu(),
        GQA,
        2 * SPLIT + 10,
        &lens,
        Some(33),
        47,
        f16,
    ));
}

/// Prefill through windows narrower than a tile (16 keys), than a block (16 queries) and
/// than the batch (40 tokens), and wider: from the start of the cache and continuing it.
#[test]
fn prefill_sliding_windows() {
    let calls = [(0, 37), (37, 1), (300, 21), (0, 40), (560, 40)];
    for window in [1, 5, 16, 20, 100] {
        block_on(prefill_windowed(
            &gpu(),
            GQA,
            600,
            40,
            &calls,
            Some(window),
            F32,
        ));
    }
    let heads = |n_head, n_head_kv, head_dim| AttnHeads {
        n_head,
        n_head_kv,
        head_dim,
    };
    // 8 queries per workgroup and 8 keys per tile (head_dim 128); 4 and 4 (256); G = 3 (96)
    let calls = [(0, 13), (5, 13), (80, 7)];
    block_on(prefill_windowed(&gpu(), MHA, 100, 13, &calls, Some(6), F32));
    block_on(prefill_windowed(
        &gpu(),
        heads(2, 1, 256),
        50,
        9,
        &[(0, 9), (20, 7)],
        Some(3),
        F32,
    ));
    let calls = [(0, 23), (11, 15)];
    block_on(prefill_windowed(
        &gpu(),
        heads(6, 2, 96),
        50,
        23,
        &calls,
        Some(10),
        F32,
    ));
    let calls = [(0, 37), (250, 40)];
    let f16 = KvType::F16;
    block_on(prefill_windowed(
        &gpu(),
        GQA,
        300,
        40,
        &calls,
        Some(12),
        f16,
    ));
}

#[test]
fn decode_of_the_last_prompt_token_matches_prefill() {
    block_on(last_prompt_token_decode_matches_prefill(&gpu()));
}

#[test]
fn peaked_scores_do_not_overflow() {
    block_on(peaked_scores(&gpu()));
}

#[test]
fn bad_shapes_are_errors() {
    let g = gpu();
    let step = Step::default().buffer(&g);
    let t = |n: usize| GpuTensor::zeros(&g, n, "t");
    let (k, v) = (t(10 * 192), t(10 * 192));
    let (q, out) = (t(9 * 64 * 4), t(9 * 64 * 4));
    let partials = AttnPartials::new(&g, GQA, 10);
    assert!(attn_decode(&g, &q, &k, &v, F32, &partials, &step, None).is_ok());
    assert!(attn_decode(&g, &q, &k, &v, F32, &partials, &step, Some(3)).is_ok());
    assert!(attn_combine(&g, &partials, &out, &step, Some(3)).is_ok());
    assert!(attn_prefill(&g, GQA, &q, &k, &v, F32, &out, &step, 4, None).is_ok());
    assert!(attn_prefill(&g, GQA, &q, &k, &v, F32, &out, &step, 4, Some(1)).is_ok());
    // a window of no positions
    assert!(attn_decode(&g, &q, &k, &v, F32, &partials, &step, Some(0)).is_err());
    assert!(attn_combine(&g, &partials, &out, &step, Some(0)).is_err());
    assert!(attn_prefill(&g, GQA, &q, &k, &v, F32, &out, &step, 4, Some(0)).is_err());

    // heads that do not share evenly, odd or oversized heads
    for heads in [
        AttnHeads {
            n_head: 9,
            n_head_kv: 2,
            head_dim: 64,
        },
        AttnHeads {
            n_head: 3,
            n_head_kv: 3,
            head_dim: 62,
        },
        AttnHeads {
            n_head: 1,
            n_head_kv: 1,
            head_dim: 260,
        },
    ] {
        let c = t(10 * heads.kv_dim());
        let p = AttnPartials::new(&g, heads, 10);
        assert!(
            attn_decode(&g, &q, &c, &c, F32, &p, &step, None).is_err(),
            "{heads:?}"
        );
        assert!(attn_prefill(&g, heads, &q, &c, &c, F32, &out, &step, 1, None).is_err());
    }
    // a cache that is not whole rows, caches of two lengths, partials for another length
    let ragged = t(10 * 192 + 5);
    assert!(attn_decode(&g, &q, &ragged, &ragged, F32, &partials, &step, None).is_err());
    assert!(attn_decode(&g, &q, &k, &t(11 * 192), F32, &partials, &step, None).is_err());
    let other = AttnPartials::new(&g, GQA, 11);
    assert!(attn_decode(&g, &q, &k, &v, F32, &other, &step, None).is_err());
    // q or out too small, out aliasing q or the partials
    assert!(attn_decode(&g, &t(9 * 64 - 1), &k, &v, F32, &partials, &step, None).is_err());
    assert!(attn_combine(&g, &partials, &t(9 * 64 - 1), &step, None).is_err());
    assert!(attn_combine(&g, &partials, &partials.tensor, &step, None).is_err());
    assert!(attn_prefill(&g, GQA, &q, &k, &v, F32, &out, &step, 5, None).is_err());
    assert!(attn_prefill(&g, GQA, &q, &k, &v, F32, &q, &step, 4, None).is_err());
    assert!(attn_prefill(&g, GQA, &q, &k, &v, F32, &out, &step, 0, None).is_err());
}
