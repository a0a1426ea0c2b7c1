// sample.wgsl: last pass of sampling on the GPU: picks the next token and writes its id
// where the next step's embedding reads it, appends it to the history ring, and zeroes the
// scratch counters for the next token. Greedy: the argmax of sample_prep's per-workgroup
// partials (lowest id on ties). Otherwise: sorts the head that sample_select gathered
// (CPU order: key descending, then id ascending; each candidate's rank is the count of
// those before it, no two alike), then top-p, min-p, temperature and the inverse-CDF draw
// with the counter-based PCG draw number step.sample, summing in the CPU's order.
// Past the head: the tail's weight sums (sample_select) bound the top-p mass and the
// draw's total. When the pick is the same at both bounds it is the CPU's pick; otherwise
// the id written is SAMPLE_ON_CPU (0xfffffffe) and the engine samples the read-back logits
// on the CPU (kernels::GpuSampler::resolve_on_cpu). Bad logits (NaN, +inf, all -inf) give
// SAMPLE_ERROR (0xffffffff). Neither sentinel enters the history.
// bindings: 0 scratch Scratch · 1 head array<vec2<u32>> (CAP × (key, id)) · 2 history
//           array<u32> (2 + history_cap, read and written) · 3 token array<u32> (written at
//           op.token_slot) · 4 settings Settings · 5 step Step (common/step.wgsl) · 6 op OpInfo
// dispatch: 1 workgroup of WG_SIZE (256)
// CPU twin: hearth_model::sampler::Sampler::sample (steps 3–9) · test:
//           crates/gpu/tests/sample.rs

#include "sample_common.wgsl"
#include "common/step.wgsl"

@group(0) @binding(0) var<storage, read_write> scratch: Scratch;
@group(0) @binding(1) var<storage, read> head: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read_write> history: array<u32>;
@group(0) @binding(3) var<storage, read_write> token: array<u32>;
@group(0) @binding(4) var<uniform> s: Settings;
@group(0) @binding(5) var<uniform> step: Step;
@group(0) @binding(6) var<uniform> op: OpInfo;

const PER_INVOCATION: u32 = 4u;    // CAP / WG_SIZE head entries each invocation sorts

var<workgroup> sk: array<u32, CAP>;   // sorted keys; then e = exp(l - L) as bits
var<workgroup> sid: array<u32, CAP>;  // sorted ids
var<workgroup> sw: array<f32, CAP>;   // w = exp((l - L) / T)
var<workgroup> status: vec3<u32>;     // flags, candidates, head size
var<workgroup> red_key: atomic<u32>;
var<workgroup> red_id: atomic<u32>;
var<workgroup> below: atomic<u32>;    // first sorted index under the min-p floor
var<workgroup> chosen: u32;

// Greedy: the largest key of the workgroup partials, and the lowest id among equals.
fn greedy(lid: u32) {
    var k = 0u;
    var id = 0xffffffffu;
    for (var g = lid; g < s.n_groups; g += WG_SIZE) {
        let p = scratch.groups[g];
        if (p.best_key > k) {
            k = p.best_key;
            id = p.best_id;
        }
    }
    atomicMax(&red_key, k);
    workgroupBarrier();
    if (k == atomicLoad(&red_key)) {
        atomicMin(&red_id, id);
    }
    workgroupBarrier();
    if (lid == 0u) {
        chosen = atomicLoad(&red_id);
    }
}

// --- sequential parts, in the CPU's summation order (invocation 0) ----------------------

fn e_at(i: u32) -> f32 {
    return bitcast<f32>(sk[i]);
}

fn sum_e(n: u32) -> f32 {
    var a = 0.0;
    for (var i = 0u; i < n; i++) {
        a += e_at(i);
    }
    return a;
}

fn sum_w(n: u32) -> f32 {
    var a = 0.0;
    for (var i = 0u; i < n; i++) {
        a += sw[i];
    }
    return a;
}

// First i < n with e[0] + … + e[i] >= goal (top-p's cut); n if none.
fn reach(n: u32, goal: f32) -> u32 {
    var cum = 0.0;
    for (var i = 0u; i < n; i++) {
        cum += e_at(i);
        if (cum >= goal) {
            return i;
        }
    }
    return n;
}

// First i < n with t < w[0] + … + w[i] (the inverse CDF); n if none.
fn above(n: u32, t: f32) -> u32 {
    var cum = 0.0;
    for (var i = 0u; i < n; i++) {
        cum += sw[i];
        if (t < cum) {
            return i;
        }
    }
    return n;
}

// Steps 6–9 over the sorted head of n candidates (of n_cands): the id, or SAMPLE_ON_CPU.
fn pick(n_cands: u32, n: u32) -> u32 {
    // the top-k pool, and whether it runs on past the sorted head (n is CAP then)
    let pool_all = s.top_k == 0u || s.top_k >= n_cands;
    let pool = select(s.top_k, n_cands, pool_all);
    let rest = pool > n;
    var tail = vec2<f32>(0.0);
    if (n_cands > n) {
        for (var g = 0u; g < s.n_groups; g++) {
            tail += vec2<f32>(scratch.groups[g].tail_e, scratch.groups[g].tail_w);
        }
    }
    // m: candidates kept; when !known, somewhere in (n, pool]
    var m = pool;
    var known = true;
    // top-p, measured at temperature 1 over the pool
    if (s.top_p < 1.0) {
        let head_e = sum_e(n);
        if (!rest) {
            let j = reach(n, s.top_p * head_e);
            if (j < n) {
                m = j + 1u;
            }
        } else {
            // the pool's mass is head_e plus part of the tail (all of it when the pool is
            // every candidate)
            let s_hi = head_e + tail.x;
            let s_lo = select(head_e, s_hi, pool_all);
            let j_lo = reach(n, s.top_p * s_lo);
            let j_hi = reach(n, s.top_p * s_hi);
            if (j_lo != j_hi) {
                return SAMPLE_ON_CPU;
            }
            if (j_hi < n) {
                m = j_hi + 1u;
            } else {
                known = false;
            }
        }
    }
    // min-p: keep the leading candidates with l >= L + ln(min_p), at least one
    if (s.min_p > 0.0) {
        let f = atomicLoad(&below);
        if (f < n) {
            // (an unknown m is past the head, so above k)
            let k = max(f, 1u);
            if (k < m) {
                m = k;
                known = true;
            }
        } else if (m > n) {
            known = false;
        }
    }
    // the draw: u times the kept weight, walked in candidate order
    let u = uniform_at(s.seed_lo, s.seed_hi, step.sample);
    if (known && m <= n) {
        var i = above(m, u * sum_w(m));
        if (i == m) {
            // only through rounding: the last candidate with any weight
            i = 0u;
            for (var j = m; j > 0u; j--) {
                if (sw[j - 1u] > 0.0) {
                    i = j - 1u;
                    break;
                }
            }
        }
        return sid[i];
    }
    // the kept weight runs past the head: exact when every candidate is kept, else bounded
    let head_w = sum_w(n);
    let w_hi = head_w + tail.y;
    let w_lo = select(head_w, w_hi, known && pool_all);
    let i_lo = above(n, u * w_lo);
    let i_hi = above(n, u * w_hi);
    if (i_lo == i_hi && i_hi < n) {
        return sid[i_hi];
    }
    return SAMPLE_ON_CPU;
}

// Sorts the head, computes its weights in parallel, then picks (invocation 0).
fn draw(lid: u32, n_cands: u32, n: u32) {
    for (var i = lid; i < n; i += WG_SIZE) {
        let c = head[i];
        sk[i] = c.x;
        sid[i] = c.y;
    }
    workgroupBarrier();
    // rank = how many come first; (key, id) pairs are distinct, so ranks are a permutation
    var mine: array<vec2<u32>, PER_INVOCATION>;
    var rank: array<u32, PER_INVOCATION>;
    for (var r = 0u; r < PER_INVOCATION; r++) {
        let i = lid + r * WG_SIZE;
        if (i < n) {
            let me = vec2<u32>(sk[i], sid[i]);
            var before = 0u;
            for (var j = 0u; j < n; j++) {
                let k = sk[j];
                if (k > me.x || (k == me.x && sid[j] < me.y)) {
                    before += 1u;
                }
            }
            mine[r] = me;
            rank[r] = before;
        }
    }
    workgroupBarrier();
    for (var r = 0u; r < PER_INVOCATION; r++) {
        if (lid + r * WG_SIZE < n) {
            sk[rank[r]] = mine[r].x;
            sid[rank[r]] = mine[r].y;
        }
    }
    let top = workgroupUniformLoad(&sk[0]);
    workgroupBarrier();
    if (top == POS_INF_KEY) {
        // a penalty pushed a logit to +inf: the CPU's weights are NaN and it takes the first
        if (lid == 0u) {
            chosen = sid[0];
        }
        return;
    }
    let big = logit_of(top);
    let floor_key = key_of(bitcast<u32>(big + s.ln_min_p));
    for (var i = lid; i < n; i += WG_SIZE) {
        let key = sk[i];
        if (s.min_p > 0.0 && key < floor_key) {
            atomicMin(&below, i);
        }
        let d = logit_of(key) - big;
        sk[i] = bitcast<u32>(exp_le0(d));
        sw[i] = weight(d, s.temperature);
    }
    workgroupBarrier();
    if (lid == 0u) {
        chosen = pick(n_cands, n);
    }
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    if (lid == 0u) {
        status = vec3<u32>(atomicLoad(&scratch.flags), atomicLoad(&scratch.n_cands),
                           min(atomicLoad(&scratch.n_head), CAP));
        chosen = SAMPLE_ERROR;
        atomicStore(&red_key, 0u);
        atomicStore(&red_id, 0xffffffffu);
        atomicStore(&below, CAP);
    }
    let st = workgroupUniformLoad(&status);
    let ok = (st.x & FLAG_BAD) == 0u && (st.x & FLAG_FINITE) != 0u;
    if (ok && s.greedy != 0u) {
        greedy(lid);
    } else if (ok && st.y > 0u && st.z > 0u) {
        draw(lid, st.y, st.z);
    }
    let id = workgroupUniformLoad(&chosen);
    if (lid == 0u) {
        token[op.token_slot] = id;
        if (id < s.n_vocab) {
            let cap = s.history_cap;
            let next = history[1];
            history[2u + next] = id;
            history[1] = (next + 1u) % cap;
            history[0] = min(history[0] + 1u, cap);
        }
        atomicStore(&scratch.max_key, 0u);
        atomicStore(&scratch.n_cands, 0u);
        atomicStore(&scratch.flags, 0u);
        atomicStore(&scratch.n_head, 0u);
    }
    for (var j = 0u; j < MAX_DIGITS; j++) {
        atomicStore(&scratch.hist[j][lid], 0u);
    }
}
