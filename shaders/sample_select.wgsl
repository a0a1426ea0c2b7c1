// sample_select.wgsl: one pass of the radix search for the head: the best min(pool, CAP)
// candidates in the CPU's order (logit descending, then id ascending), the pool being the
// top_k best (all candidates when top_k is 0). The search runs on the composite
// (key, n_vocab - 1 - id), 8 bits at a time from the top: 4 digits of the key, then
// id_digits of the reversed id (only ever needed to break ties at the cut). Pass k decides
// digit k - 1 of the head's last candidate (the boundary) from the histogram that pass
// k - 1 built, then histograms digit k of the candidates that share the digits decided so
// far. Once the boundary's bin holds nothing after it the search is done, and later passes
// only hand their state on. The last pass gathers the head (unordered) and sums the
// weights of the other candidates (the tail) per workgroup for sample.wgsl.
// bindings: 0 keys array<u32> (n_vocab, from sample_prep) · 1 scratch Scratch
//           · 2 head array<vec2<u32>> (CAP × (key, id), written by the last pass)
//           · 3 settings Settings · 4 op OpInfo (pass_index)
// dispatch: n_groups workgroups of WG_SIZE (256), once for each pass_index
//           k = 1 … 4 + id_digits; workgroup g owns ids g·CHUNK … g·CHUNK + CHUNK - 1
// CPU twin: the candidate order and top-k of hearth_model::sampler (steps 4–5) ·
//           test: crates/gpu/tests/sample.rs

#include "sample_common.wgsl"

@group(0) @binding(0) var<storage, read> keys: array<u32>;
@group(0) @binding(1) var<storage, read_write> scratch: Scratch;
@group(0) @binding(2) var<storage, read_write> head: array<vec2<u32>>;
@group(0) @binding(3) var<uniform> s: Settings;
@group(0) @binding(4) var<uniform> op: OpInfo;

var<workgroup> st: SelectState;
var<workgroup> cands_wg: u32;
var<workgroup> bins: array<u32, BINS>;
var<workgroup> sums16: array<u32, 16>;
var<workgroup> hist: array<atomic<u32>, BINS>;
var<workgroup> tail: array<vec2<f32>, WG_SIZE>;

// Digit j of the boundary, from hist[j]: counting down from the largest digit, the bin its
// rank falls in (sixteen 16-bin sums first, so one invocation walks at most 32 steps).
fn decide(lid: u32, j: u32) {
    bins[lid] = atomicLoad(&scratch.hist[j][lid]);
    workgroupBarrier();
    if (lid < 16u) {
        var c = 0u;
        for (var b = 0u; b < 16u; b++) {
            c += bins[lid * 16u + b];
        }
        sums16[lid] = c;
    }
    workgroupBarrier();
    if (lid == 0u) {
        var r = st.rank;
        var g = 15u;
        while (g > 0u && r >= sums16[g]) {
            r -= sums16[g];
            g -= 1u;
        }
        var b = g * 16u + 15u;
        while (b > g * 16u && r >= bins[b]) {
            r -= bins[b];
            b -= 1u;
        }
        let shift = digit_shift(j, s.id_digits);
        if (j < 4u) {
            st.key |= b << shift;
        } else {
            st.idr |= b << shift;
        }
        st.rank = r;
        st.digits = j + 1u;
        st.done = select(0u, 1u, r + 1u == bins[b]);
    }
}

// Histogram of digit k over this workgroup's candidates that share the decided digits.
fn histogram(lid: u32, g: u32, k: u32, cur: SelectState) {
    atomicStore(&hist[lid], 0u);
    workgroupBarrier();
    let base = g * CHUNK;
    for (var i = lid; i < CHUNK; i += WG_SIZE) {
        let id = base + i;
        if (id >= s.n_vocab) {
            break;
        }
        let key = keys[id];
        let idr = s.n_vocab - 1u - id;
        if (key > NEG_INF_KEY && shares_digits(key, idr, cur, s.id_digits)) {
            atomicAdd(&hist[digit_of(key, idr, k, s.id_digits)], 1u);
        }
    }
    workgroupBarrier();
    let c = atomicLoad(&hist[lid]);
    if (c != 0u) {
        atomicAdd(&scratch.hist[k][lid], c);
    }
}

// The head into `head`; the tail's Σ exp(l - L) and Σ exp((l - L) / T) into this
// workgroup's partial when there is a tail.
fn gather(lid: u32, g: u32, cur: SelectState, n_cands: u32) {
    let need_tail = n_cands > head_size(n_cands, s.top_k);
    let top = logit_of(atomicLoad(&scratch.max_key));
    var sum = vec2<f32>(0.0);
    let base = g * CHUNK;
    for (var i = lid; i < CHUNK; i += WG_SIZE) {
        let id = base + i;
        if (id >= s.n_vocab) {
            break;
        }
        let key = keys[id];
        if (key <= NEG_INF_KEY) {
            continue;
        }
        if (in_head(key, s.n_vocab - 1u - id, cur, s.id_digits)) {
            let slot = atomicAdd(&scratch.n_head, 1u);
            if (slot < CAP) {
                head[slot] = vec2<u32>(key, id);
            }
        } else if (need_tail) {
            let d = logit_of(key) - top;
            sum += vec2<f32>(exp_le0(d), weight(d, s.temperature));
        }
    }
    if (need_tail) {
        tail[lid] = sum;
        workgroupBarrier();
        for (var stride = WG_SIZE / 2u; stride > 0u; stride /= 2u) {
            if (lid < stride) {
                tail[lid] += tail[lid + stride];
            }
            workgroupBarrier();
        }
        if (lid == 0u) {
            scratch.groups[g].tail_e = tail[0].x;
            scratch.groups[g].tail_w = tail[0].y;
        }
    }
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
    if (s.greedy != 0u) {
        return;
    }
    let lid = lid3.x;
    let k = op.pass_index;
    if (lid == 0u) {
        let n = atomicLoad(&scratch.n_cands);
        cands_wg = n;
        if (k == 1u) {
            st = SelectState(0u, 0u, max(head_size(n, s.top_k), 1u) - 1u, 0u, 0u);
        } else {
            st = scratch.state[k - 1u];
        }
    }
    let n_cands = workgroupUniformLoad(&cands_wg);
    if (n_cands == 0u) {
        return;
    }
    if (workgroupUniformLoad(&st.done) == 0u) {
        decide(lid, k - 1u);
    }
    let cur = workgroupUniformLoad(&st);
    if (wid.x == 0u && lid == 0u) {
        scratch.state[k] = cur;
    }
    if (k < 4u + s.id_digits) {
        if (cur.done == 0u) {
            histogram(lid, wid.x, k, cur);
        }
    } else {
        gather(lid, wid.x, cur, n_cands);
    }
}
