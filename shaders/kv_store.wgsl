// kv_store.wgsl: copies this call's keys and values into one layer's KV cache, token t to
// cache row step.pos + t, in the cache's type (`#include kv`: f32, or f16 rounded to
// nearest); rows at or past n_ctx are not written.
// bindings: 0 k array<vec4<f32>> (n_tokens × kv_dim / 4) · 1 v (likewise)
//           · 2 k_cache array<KvVec4> (n_ctx × kv_dim / 4) · 3 v_cache (likewise)
//           · 4 step (common/step.wgsl) · 5 params
// dispatch: ceil(n_tokens · kv_dim / 4 / WG_SIZE) workgroups of WG_SIZE (override, ≤ 256),
//           one invocation per vec4 of k (and the same of v), laid out 2-D above 65535
//           (i = (wg.x + wg.y · num_workgroups.x) · WG_SIZE + local index)
// CPU twin: a copy, rounded to f16 for an f16 cache (the test builds the expected caches)
//           · test: crates/gpu/tests/kv_store.rs

#include "common/step.wgsl"
#include kv

struct Params {
    row_vec4: u32,  // vec4s per token: n_kv_heads × head_dim / 4
    n_tokens: u32,  // rows of k and v
    n_ctx: u32,     // rows of each cache
}

@group(0) @binding(0) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> k_cache: array<KvVec4>;
@group(0) @binding(3) var<storage, read_write> v_cache: array<KvVec4>;
@group(0) @binding(4) var<uniform> step: Step;
@group(0) @binding(5) var<uniform> p: Params;

override WG_SIZE: u32 = 256u;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * WG_SIZE + lid.x;
    if (i >= p.n_tokens * p.row_vec4 || step.pos + i / p.row_vec4 >= p.n_ctx) {
        return;
    }
    let o = step.pos * p.row_vec4 + i;
    k_cache[o] = kv_pack(k[i]);
    v_cache[o] = kv_pack(v[i]);
}
