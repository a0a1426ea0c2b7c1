// attn_prefill.wgsl: causal attention of step.n_tokens new tokens at once (a prompt, or a
// later chat turn that extends the cache): token t, at position last = step.pos + t, attends
// to cache rows last + 1 − min(window, last + 1) ..= last of its KV head h / n_rep (the
// last `window` positions: sliding-window attention; window 0xffffffff: rows 0 ..= last),
//   out[t, h, :] = softmax_p(q[t, h, :] · k_p / √d) · V.
// The cache rows of this call are already written (kv_store.wgsl).
// bindings: 0 q array<vec4<f32>> (n_tokens × n_head × head_dim / 4) · 1 k_cache
//           array<KvVec4> (n_ctx × kv_dim / 4; f32 or f16 by `#include kv`) · 2 v_cache (likewise) · 3 out
//           array<vec4<f32>> (like q) · 4 step (common/step.wgsl) · 5 params
// dispatch: (n_head, ceil(max_tokens / BQ)) workgroups of WG_SIZE = BQ · HEAD_VEC4 (overrides,
//           ≤ 256): one workgroup per block of BQ queries of one head (blocks at or past
//           n_tokens return at once); invocation (i, c) = (query i of the block, vec4 c of
//           the head) owns out[t0 + i, h, 4c .. 4c + 4].
// CPU twin: hearth_model::ops::attention of each head of each token over the rows it sees
//           · test: crates/gpu/tests/attention.rs
//
// The block's tiles run from the first key its first query sees to the last key its last
// query sees. Per tile of BK keys (BK divides HEAD_VEC4), three phases, each ended by a
// barrier: (1) the workgroup loads the tile's k rows into workgroup memory; (2) invocation
// (i, c) = (i, g · BK + j) dots query i with key j over the vec4s g, g + G, ..
// (G = HEAD_VEC4 / BK), so the BQ × BK dots are cut evenly over all invocations; (3) every
// invocation of query i adds up the G parts of the scores of the tile's keys that query i
// sees, for the tile's max m_new, the invocations with g = 0 each write one weight
// e^(s − m_new) (0 for a key it does not see; each exp taken once: taking all of them in
// every invocation costs 1.3-1.6× the time on lavapipe), and the workgroup loads the tile's
// v rows. Then, before the next tile's first barrier, each invocation updates its online
// softmax: running max m and sum l, and its vec4 of o, rescaled by e^(m − m_new). The next
// tile overwrites k and the score parts only after barrier 3, and v and the weights only
// after its own barrier 1, so every invocation is done with them by then.
// Workgroup memory: (BQ + 2 · BK) · HEAD_VEC4 vec4s + (BQ · HEAD_VEC4 + BQ · BK) floats,
// 14 KiB at most with WG_SIZE ≤ 256 and BK · HEAD_VEC4 ≤ 256, within WebGPU's 16 KiB.

#include "common/step.wgsl"
#include kv

struct Params {
    n_head: u32,    // query heads
    n_rep: u32,     // query heads per KV head: n_head / n_head_kv
    row_vec4: u32,  // vec4s per cache row: kv_dim / 4
    n_ctx: u32,     // rows of each cache
    scale: f32,     // 1 / √head_dim
    window: u32,    // positions a token sees, itself included (0xffffffff: every one)
}

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k_cache: array<KvVec4>;
@group(0) @binding(2) var<storage, read> v_cache: array<KvVec4>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> step: Step;
@group(0) @binding(5) var<uniform> p: Params;

override HEAD_VEC4: u32 = 16u;            // head_dim / 4: invocations per query
override BQ: u32 = 16u;                   // queries per workgroup
override BK: u32 = 16u;                   // keys per tile, a divisor of HEAD_VEC4
override WG_SIZE: u32 = BQ * HEAD_VEC4;   // ≤ 256
override TILE: u32 = BK * HEAD_VEC4;      // vec4s of one k (or v) tile
override BQ_BK: u32 = BQ * BK;           // weights of one tile

// The running max before any key: below every real score, and e^(EMPTY_M − m) = 0.
const EMPTY_M: f32 = -3.4028234663852886e38;  // −FLT_MAX, written exactly (Tint insists)

var<workgroup> q_block: array<vec4<f32>, WG_SIZE>;  // [BQ][HEAD_VEC4]
var<workgroup> k_tile: array<vec4<f32>, TILE>;      // [BK][HEAD_VEC4]
var<workgroup> v_tile: array<vec4<f32>, TILE>;      // [BK][HEAD_VEC4]
var<workgroup> parts: array<f32, WG_SIZE>;          // [BQ][G][BK]: parts of the scores
var<workgroup> probs: array<f32, BQ_BK>;            // [BQ][BK]: the tile's weights

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
    let head = wid.x;
    let t0 = wid.y * BQ;
    let n_tokens = min(step.n_tokens, p.n_ctx - min(step.pos, p.n_ctx));
    if (t0 >= n_tokens) {
        return;
    }
    let i = lid.x / HEAD_VEC4;
    let c = lid.x % HEAD_VEC4;
    let t = t0 + i;
    // the last key query i sees; a row past n_tokens sees what the last token sees and is
    // never written
    let last = step.pos + min(t, n_tokens - 1u);
    // and the first
    let first = last + 1u - min(p.window, last + 1u);
    // keys the whole block needs: the first query's first ..= the block's last token
    let last0 = step.pos + t0;
    let k_first = last0 + 1u - min(p.window, last0 + 1u);
    let n_keys = step.pos + min(t0 + BQ, n_tokens);
    let kv0 = (head / p.n_rep) * HEAD_VEC4;
    let q_row = p.n_head * HEAD_VEC4;

    // the block's queries into workgroup memory (zeros past n_tokens)
    var qv = vec4<f32>(0.0);
    if (t < n_tokens) {
        qv = q[t * q_row + head * HEAD_VEC4 + c];
    }
    q_block[lid.x] = qv;

    let groups = HEAD_VEC4 / BK;
    let g = c / BK;
    let j = c % BK;
    var m = EMPTY_M;
    var l = 0.0;
    var o = vec4<f32>(0.0);
    for (var k0 = k_first; k0 < n_keys; k0 += BK) {
        // (1) the tile's k rows (zeros past the block's keys)
        for (var e = lid.x; e < TILE; e += WG_SIZE) {
            let key = k0 + e / HEAD_VEC4;
            var kv = vec4<f32>(0.0);
            if (key < n_keys) {
                kv = kv_unpack(k_cache[key * p.row_vec4 + kv0 + e % HEAD_VEC4]);
            }
            k_tile[e] = kv;
        }
        workgroupBarrier();

        // (2) part g of the score of query i with key j
        var s = 0.0;
        for (var x = g; x < HEAD_VEC4; x += groups) {
            s += dot(q_block[i * HEAD_VEC4 + x], k_tile[j * HEAD_VEC4 + x]);
        }
        parts[lid.x] = s;
        workgroupBarrier();

        // (3) the tile's max for query i over the keys it sees (jj in skip .. seen: from
        // first to last), and weights e^(s − m_new), one per invocation
        let seen = min(BK, last + 1u - min(k0, last + 1u));
        let skip = min(seen, first - min(k0, first));
        var m_new = m;
        for (var jj = skip; jj < seen; jj++) {
            m_new = max(m_new, score(i, jj));
        }
        if (g == 0u) {
            let sees = j >= skip && j < seen;
            probs[i * BK + j] = select(0.0, exp(score(i, j) - m_new), sees);
        }
        // the tile's v rows (every invocation is done with the last tile's: it passed (1))
        for (var e = lid.x; e < TILE; e += WG_SIZE) {
            let key = k0 + e / HEAD_VEC4;
            var vv = vec4<f32>(0.0);
            if (key < n_keys) {
                vv = kv_unpack(v_cache[key * p.row_vec4 + kv0 + e % HEAD_VEC4]);
            }
            v_tile[e] = vv;
        }
        workgroupBarrier();

        // online softmax: rescale by e^(m − m_new), add the tile's weighted values
        let alpha = exp(m - m_new);
        l *= alpha;
        o *= alpha;
        for (var jj = skip; jj < seen; jj++) {
            let w = probs[i * BK + jj];
            l += w;
            o += w * v_tile[jj * HEAD_VEC4 + c];
        }
        m = m_new;
    }
    if (t < n_tokens) {
        out[t * q_row + head * HEAD_VEC4 + c] = o / l;
    }
}

// The scaled score of query i with key jj of the tile: the sum of its HEAD_VEC4 / BK parts.
fn score(i: u32, jj: u32) -> f32 {
    var s = 0.0;
    for (var x = jj; x < HEAD_VEC4; x += BK) {
        s += parts[i * HEAD_VEC4 + x];
    }
    return s * p.scale;
}
