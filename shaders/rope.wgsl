// rope.wgsl: rotary position embedding of q or k, in place: in each head, pair i <
// rope_dim / 2 of token t is rotated by θ = (step.pos + t) · base^(−2i/rope_dim) ·
// freq_scale / ff[i]; the pair is (x[2i], x[2i+1]) in GGML's "normal" RoPE (llama), or
// (x[i], x[i + rope_dim/2]) with NEOX (qwen2, qwen3); dims from rope_dim on pass through.
// bindings: 0 x array<f32> (n_tokens × n_heads × head_dim, read and written)
//           · 1 freqs array<vec4<f32>> (rope_dim / 2: each pair's turns per position, split
//           in three, see kernels::RopeFreqs) · 2 step (common/step.wgsl) · 3 params
// dispatch: ceil(n_tokens · n_heads · rope_dim / 2 / WG_SIZE) workgroups of WG_SIZE
//           (override, ≤ 256), one invocation per rotated pair, laid out 2-D above 65535
//           (k = (wg.x + wg.y · num_workgroups.x) · WG_SIZE + local index)
// CPU twin: hearth_model::ops::rope (angles in f64) · test: crates/gpu/tests/rope.rs
// Angles: common/rope_turn.wgsl (exact reduction in turns, polynomial cos and sin).

#include "common/step.wgsl"
#include "common/rope_turn.wgsl"

struct Params {
    n_tokens: u32,   // tokens in x
    n_heads: u32,    // heads per token
    head_pairs: u32, // head_dim / 2
    rope_pairs: u32, // rope_dim / 2: rotated pairs per head
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> freqs: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> step: Step;
@group(0) @binding(3) var<uniform> p: Params;

override WG_SIZE: u32 = 256u;
// 1: NeoX pairs (i, i + rope_pairs); 0: adjacent pairs (2i, 2i + 1)
override NEOX: u32 = 0u;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let k = (wid.x + wid.y * nwg.x) * WG_SIZE + lid.x;
    if (k >= p.n_tokens * p.n_heads * p.rope_pairs) {
        return;
    }
    let i = k % p.rope_pairs;
    let head = k / p.rope_pairs;  // token · n_heads + head in token
    let pos = f32(step.pos + head / p.n_heads);
    let cs = rope_cos_sin(pos, freqs[i]);
    let base = head * p.head_pairs * 2u;
    var a = base + 2u * i;
    var b = a + 1u;
    if (NEOX == 1u) {
        a = base + i;
        b = a + p.rope_pairs;
    }
    let r = rope_rotate(vec2<f32>(x[a], x[b]), cs);
    x[a] = r.x;
    x[b] = r.y;
}
