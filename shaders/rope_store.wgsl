// rope_store.wgsl: RoPE of q and k and the KV store in one pass (rope.wgsl on q, rope.wgsl
// on k, then kv_store.wgsl): q is rotated in place; k, rotated, and v go to cache row
// step.pos + t of token t, in the cache's type (`#include kv`); cache rows at or past n_ctx
// are not written (q still is). k itself is left as it was.
// bindings: 0 q array<vec4<f32>> (n_tokens × n_q_heads × head_dim / 4, read and written)
//           · 1 k array<vec4<f32>> (n_tokens × kv_dim / 4) · 2 v (likewise)
//           · 3 k_cache array<KvVec4> (n_ctx × kv_dim / 4) · 4 v_cache (likewise)
//           · 5 freqs array<vec4<f32>> (rope_dim / 2, kernels::RopeFreqs) · 6 step · 7 params
// dispatch: ceil(n_tokens · (q_dim + kv_dim) / 4 / WG_SIZE) workgroups of WG_SIZE (override,
//           ≤ 256), laid out 2-D above 65535 (i = (wg.x + wg.y · num_workgroups.x) · WG_SIZE
//           + local index); invocation i holds one vec4 (two pairs) of q, or one of k and the
//           same vec4 of v. head_dim is a multiple of 4.
// CPU twin: hearth_model::ops::rope of q and of k, then a copy of k and v into the cache
//           (rounded to f16 for an f16 cache) · test: crates/gpu/tests/rope_store.rs

#include "common/step.wgsl"
#include "common/rope_turn.wgsl"
#include kv

struct Params {
    n_tokens: u32,   // tokens in q, k and v
    q_vec4: u32,     // vec4s of q per token: n_q_heads × head_dim / 4
    kv_vec4: u32,    // vec4s of k (and of v) per token: n_kv_heads × head_dim / 4
    head_vec4: u32,  // head_dim / 4
    rope_pairs: u32, // rope_dim / 2: rotated pairs per head
    n_ctx: u32,      // rows of each cache
}

@group(0) @binding(0) var<storage, read_write> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> k_cache: array<KvVec4>;
@group(0) @binding(4) var<storage, read_write> v_cache: array<KvVec4>;
@group(0) @binding(5) var<storage, read> freqs: array<vec4<f32>>;
@group(0) @binding(6) var<uniform> step: Step;
@group(0) @binding(7) var<uniform> p: Params;

override WG_SIZE: u32 = 256u;

// Pairs 2h and 2h + 1 of a head (vec4 h of it) rotated for position pos; pairs from
// rope_pairs on pass through.
fn rotate4(x: vec4<f32>, h: u32, pos: f32) -> vec4<f32> {
    var lo = x.xy;
    var hi = x.zw;
    let i = 2u * h;
    if (i < p.rope_pairs) {
        lo = rope_rotate(lo, rope_cos_sin(pos, freqs[i]));
    }
    if (i + 1u < p.rope_pairs) {
        hi = rope_rotate(hi, rope_cos_sin(pos, freqs[i + 1u]));
    }
    return vec4<f32>(lo, hi);
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * WG_SIZE + lid.x;
    let per_token = p.q_vec4 + p.kv_vec4;
    if (i >= p.n_tokens * per_token) {
        return;
    }
    let t = i / per_token;
    let j = i % per_token;
    let pos = step.pos + t;
    if (j < p.q_vec4) {
        let o = t * p.q_vec4 + j;
        q[o] = rotate4(q[o], j % p.head_vec4, f32(pos));
        return;
    }
    let kj = j - p.q_vec4;
    if (pos >= p.n_ctx) {
        return;
    }
    let src = t * p.kv_vec4 + kj;
    let dst = pos * p.kv_vec4 + kj;
    k_cache[dst] = kv_pack(rotate4(k[src], kj % p.head_vec4, f32(pos)));
    v_cache[dst] = kv_pack(v[src]);
}
