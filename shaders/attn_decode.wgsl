// attn_decode.wgsl: flash-decoding for one new token, first half. The token sees the KV
// range [first, step.kv_len), first = kv_len − min(window, kv_len) (the last `window`
// positions: sliding-window attention; window 0xffffffff: all of them), cut into splits of
// SPLIT positions of the cache; the workgroup of (query head h, split s) scores q_h against
// the keys of KV head h / n_rep that the split holds in that range and writes, unnormalised,
//   m = max_p q·k_p / √d,  l = Σ_p e^(q·k_p/√d − m),  o = Σ_p e^(q·k_p/√d − m) · v_p.
// attn_combine.wgsl then merges the splits of each head. The dispatch is made once for the
// whole cache: a split with no position in the range (at or past kv_len, or wholly before
// first) reads nothing and marks its record empty (m = −FLT_MAX, l = 0); attn_combine reads
// only the splits that hold some of the range.
// bindings: 0 q array<vec4<f32>> (n_head × head_dim / 4) · 1 k_cache array<KvVec4>
//           (n_ctx × kv_dim / 4; f32 or f16 by `#include kv`) · 2 v_cache (likewise) · 3 partials array<vec4<f32>>
//           (n_head × n_splits records of 1 + head_dim / 4: [m, l, 0, 0] then o)
//           · 4 step (common/step.wgsl) · 5 params
// dispatch: (n_head, n_splits = ceil(n_ctx / SPLIT)) workgroups of WG_SIZE (override, ≤ 256,
//           with head_dim ≤ 4 · WG_SIZE); heads that share a KV head are neighbours in x, so
//           their reads of the same rows meet in the cache. SPLIT is an override too.
// CPU twin: hearth_model::ops::attention of each head over rows first .. kv_len
//           · test: crates/gpu/tests/attention.rs
//
// Inside a workgroup: each invocation scores whole keys (positions lid, lid + WG_SIZE, ..),
// the split's max comes from one value per invocation, each invocation turns its own scores
// into weights, and then invocation (c, g) sums weight · v[c] (one vec4 c of the head) over
// positions g, g + groups, ..; the groups' sums are added at the end. Three barriers.

#include "common/step.wgsl"
#include kv

struct Params {
    n_rep: u32,     // query heads per KV head: n_head / n_head_kv
    head_vec4: u32, // head_dim / 4
    row_vec4: u32,  // vec4s per cache row: kv_dim / 4
    n_ctx: u32,     // rows of each cache
    n_splits: u32,  // splits per head: ceil(n_ctx / SPLIT)
    scale: f32,     // 1 / √head_dim
    window: u32,    // positions the token sees, itself included (0xffffffff: every one)
}

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k_cache: array<KvVec4>;
@group(0) @binding(2) var<storage, read> v_cache: array<KvVec4>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> step: Step;
@group(0) @binding(5) var<uniform> p: Params;

override WG_SIZE: u32 = 64u;
override SPLIT: u32 = 256u;

// The m of a split with no positions: below every real score.
const EMPTY_M: f32 = -3.4028234663852886e38;  // −FLT_MAX, written exactly (Tint insists)

var<workgroup> score: array<f32, SPLIT>;          // the split's scores, then weights
var<workgroup> maxes: array<f32, WG_SIZE>;        // each invocation's largest score
var<workgroup> sums: array<vec4<f32>, WG_SIZE>;   // each invocation's Σ weight · v
var<workgroup> weights: array<f32, WG_SIZE>;      // each invocation's Σ weight

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
    let head = wid.x;
    let split = wid.y;
    let record = (head * p.n_splits + split) * (1u + p.head_vec4);
    let kv_len = min(step.kv_len, p.n_ctx);
    let first = kv_len - min(p.window, kv_len);
    // the positions of this split the token sees: start .. end
    let start = max(split * SPLIT, first);
    let end = min(split * SPLIT + SPLIT, kv_len);
    if (start >= end) {
        // past the cache's filled rows, or before the window: nothing to do, and the record
        // says so
        if (lid.x == 0u) {
            partials[record] = vec4<f32>(EMPTY_M, 0.0, 0.0, 0.0);
        }
        return;
    }
    let n = end - start;
    let hv = p.head_vec4;
    let q0 = head * hv;
    let kv0 = start * p.row_vec4 + (head / p.n_rep) * hv;

    // scores of whole keys, and this invocation's max
    var m_own = EMPTY_M;
    for (var i = lid.x; i < n; i += WG_SIZE) {
        let k0 = kv0 + i * p.row_vec4;
        var s = 0.0;
        for (var c = 0u; c < hv; c++) {
            s += dot(q[q0 + c], kv_unpack(k_cache[k0 + c]));
        }
        s *= p.scale;
        score[i] = s;
        m_own = max(m_own, s);
    }
    maxes[lid.x] = m_own;
    workgroupBarrier();

    // the split's max, then each invocation's scores become weights e^(s − m)
    var m = maxes[0];
    for (var t = 1u; t < WG_SIZE; t++) {
        m = max(m, maxes[t]);
    }
    for (var i = lid.x; i < n; i += WG_SIZE) {
        score[i] = exp(score[i] - m);
    }
    workgroupBarrier();

    // invocation (c, g): Σ weight · v[c] over positions g, g + groups, ..
    let groups = WG_SIZE / hv;
    let c = lid.x % hv;
    let g = lid.x / hv;
    var o = vec4<f32>(0.0);
    var l = 0.0;
    if (g < groups) {
        for (var i = g; i < n; i += groups) {
            let e = score[i];
            o += e * kv_unpack(v_cache[kv0 + i * p.row_vec4 + c]);
            l += e;
        }
    }
    sums[lid.x] = o;
    weights[lid.x] = l;
    workgroupBarrier();

    // group 0 adds the groups' sums and writes the record
    if (g == 0u) {
        var o_all = sums[c];
        for (var j = 1u; j < groups; j++) {
            o_all += sums[j * hv + c];
        }
        partials[record + 1u + c] = o_all;
        if (c == 0u) {
            var l_all = weights[0];
            for (var j = 1u; j < groups; j++) {
                l_all += weights[j * hv];
            }
            partials[record] = vec4<f32>(m, l_all, 0.0, 0.0);
        }
    }
}
