//! rope_store.wgsl (RoPE of q and k with the KV store, one pass) against its CPU twin and
//! the three passes it replaces, for both cache types.

// native only (blocking calls); tests/browser.rs runs the kernel checks on the web
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::kv_store::TYPES;
use common::rope_store::{cases, check};
use common::{block_on, gpu};

#[test]
fn matches_the_twin_and_the_passes_it_replaces() {
    let g = gpu();
    for kv in TYPES {
        for (i, c) in cases().iter().enumerate() {
            block_on(check(&g, c, kv, i as u64));
        }
    }
}
