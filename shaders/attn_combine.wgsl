// attn_combine.wgsl: flash-decoding, second half: merges the splits that attn_decode.wgsl
// wrote for each query head h into its output,
//   M = max_s m_s,  out[h, :] = Σ_s e^(m_s − M) · o_s / Σ_s e^(m_s − M) · l_s,
// over the splits first / SPLIT ≤ s < ceil(kv_len / SPLIT) that hold positions the token
// sees, first = kv_len − min(window, kv_len) as in attn_decode (the records outside them
// are stale or empty and are not read).
// bindings: 0 partials array<vec4<f32>> (n_head × n_splits records of 1 + head_dim / 4:
//           [m, l, 0, 0] then o) · 1 out array<vec4<f32>> (n_head × head_dim / 4)
//           · 2 step (common/step.wgsl) · 3 params
// dispatch: n_head workgroups of WG_SIZE (override, ≤ 256, with head_dim ≤ 4 · WG_SIZE);
//           invocation c writes the head's vec4 c. No workgroup memory, no barrier.
// CPU twin: hearth_model::ops::attention of each head over rows first .. kv_len (with
//           attn_decode) · test: crates/gpu/tests/attention.rs

#include "common/step.wgsl"

struct Params {
    head_vec4: u32, // head_dim / 4
    n_ctx: u32,     // rows of each cache
    n_splits: u32,  // splits per head: ceil(n_ctx / SPLIT)
    window: u32,    // positions the token sees, itself included (0xffffffff: every one)
}

@group(0) @binding(0) var<storage, read> partials: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> step: Step;
@group(0) @binding(3) var<uniform> p: Params;

override WG_SIZE: u32 = 64u;
override SPLIT: u32 = 256u;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
    let head = wid.x;
    let c = lid.x;
    if (c >= p.head_vec4) {
        return;
    }
    let kv_len = min(step.kv_len, p.n_ctx);
    let used = min((kv_len + SPLIT - 1u) / SPLIT, p.n_splits);
    let s0 = (kv_len - min(p.window, kv_len)) / SPLIT;
    let size = 1u + p.head_vec4;
    let head0 = head * p.n_splits * size;

    var m_all = partials[head0 + s0 * size].x;
    for (var s = s0 + 1u; s < used; s++) {
        m_all = max(m_all, partials[head0 + s * size].x);
    }
    var o = vec4<f32>(0.0);
    var l = 0.0;
    for (var s = s0; s < used; s++) {
        let r = head0 + s * size;
        let w = exp(partials[r].x - m_all);
        o += w * partials[r + 1u + c];
        l += w * partials[r].y;
    }
    // kv_len = 0 (no positions at all) gives zeros rather than 0 / 0
    out[head * p.head_vec4 + c] = select(vec4<f32>(0.0), o / l, l > 0.0);
}
