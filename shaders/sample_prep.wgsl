// sample_prep.wgsl: first pass of sampling on the GPU. Checks the logits, applies the
// repetition penalty, turns every penalized logit into a sort key (keys), and per workgroup
// finds the argmax (for greedy), counts candidates and histograms the keys' top byte (the
// first digit of sample_select.wgsl's search). The logits are only read; an id the mask
// leaves out counts as a logit of −inf (constrained decoding).
// bindings: 0 logits array<f32> (n_vocab) · 1 history array<u32> (2 + history_cap: length,
//           next slot, then the ring of recent ids) · 2 keys array<u32> (n_vocab, written)
//           · 3 scratch Scratch (sample_common.wgsl) · 4 settings Settings · 5 mask
//           array<u32> (ceil(n_vocab / 32): bit id % 32 of word id / 32 set = allowed)
// dispatch: n_groups = ceil(n_vocab / CHUNK) workgroups of WG_SIZE (256); workgroup g owns
//           ids g·CHUNK … g·CHUNK + CHUNK - 1
// CPU twin: hearth_model::constraint::TokenMask::apply, then hearth_model::sampler
//           steps 1–3 (check, repetition penalty, greedy argmax) ·
//           test: crates/gpu/tests/sample.rs

#include "sample_common.wgsl"

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> history: array<u32>;
@group(0) @binding(2) var<storage, read_write> keys: array<u32>;
@group(0) @binding(3) var<storage, read_write> scratch: Scratch;
@group(0) @binding(4) var<uniform> s: Settings;
@group(0) @binding(5) var<storage, read> mask: array<u32>;

var<workgroup> marked: array<atomic<u32>, CHUNK / 32u>;  // this chunk's ids in the window
var<workgroup> hist: array<atomic<u32>, BINS>;
var<workgroup> best_key: atomic<u32>;
var<workgroup> best_id: atomic<u32>;
var<workgroup> n_cands: atomic<u32>;
var<workgroup> flags: atomic<u32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
    let lid = lid3.x;
    let base = wid.x * CHUNK;
    // workgroup memory starts undefined
    if (lid < CHUNK / 32u) {
        atomicStore(&marked[lid], 0u);
    }
    atomicStore(&hist[lid], 0u);
    if (lid == 0u) {
        atomicStore(&best_key, 0u);
        atomicStore(&best_id, 0xffffffffu);
        atomicStore(&n_cands, 0u);
        atomicStore(&flags, 0u);
    }
    workgroupBarrier();

    // repetition penalty: mark this chunk's ids among the last repeat_last_n of the history
    // (a bit set, so an id seen twice is penalized once)
    if (s.penalty != 0u) {
        let cap = s.history_cap;
        let n = min(history[0], s.repeat_last_n);
        let next = history[1];
        for (var k = lid; k < n; k += WG_SIZE) {
            let t = history[2u + (next + cap - 1u - k) % cap];
            if (t >= base && t - base < CHUNK && t < s.n_vocab) {
                atomicOr(&marked[(t - base) / 32u], 1u << ((t - base) % 32u));
            }
        }
    }
    workgroupBarrier();

    // keys, argmax (ids ascend per invocation, so `>` keeps the lowest), candidates, top byte
    var my_key = 0u;
    var my_id = 0xffffffffu;
    var my_cands = 0u;
    var my_flags = 0u;
    for (var i = lid; i < CHUNK; i += WG_SIZE) {
        let id = base + i;
        if (id >= s.n_vocab) {
            break;
        }
        let allowed = ((mask[id / 32u] >> (id % 32u)) & 1u) != 0u;
        let bits = select(NEG_INF_BITS, bitcast<u32>(logits[id]), allowed);
        if ((bits & 0x7fffffffu) > 0x7f800000u || bits == 0x7f800000u) {
            my_flags |= FLAG_BAD;
        }
        if (bits != NEG_INF_BITS) {
            my_flags |= FLAG_FINITE;
        }
        var key = key_of(bits);
        if ((atomicLoad(&marked[i / 32u]) & (1u << (i % 32u))) != 0u) {
            key = penalized_key(bits, s.repeat_penalty);
        }
        keys[id] = key;
        if (key > my_key) {
            my_key = key;
            my_id = id;
        }
        if (key > NEG_INF_KEY) {
            my_cands += 1u;
            if (s.greedy == 0u) {
                atomicAdd(&hist[key >> 24u], 1u);
            }
        }
    }
    atomicMax(&best_key, my_key);
    atomicAdd(&n_cands, my_cands);
    atomicOr(&flags, my_flags);
    workgroupBarrier();
    if (my_key == atomicLoad(&best_key)) {
        atomicMin(&best_id, my_id);
    }
    workgroupBarrier();

    let c = atomicLoad(&hist[lid]);
    if (c != 0u) {
        atomicAdd(&scratch.hist[0][lid], c);
    }
    if (lid == 0u) {
        let top = atomicLoad(&best_key);
        scratch.groups[wid.x].best_key = top;
        scratch.groups[wid.x].best_id = atomicLoad(&best_id);
        atomicMax(&scratch.max_key, top);
        atomicAdd(&scratch.n_cands, atomicLoad(&n_cands));
        atomicOr(&scratch.flags, atomicLoad(&flags));
    }
}
