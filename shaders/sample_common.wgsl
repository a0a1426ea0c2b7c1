// sample_common.wgsl: what the three sampling kernels share (no entry point): the settings
// uniform, the scratch buffer, the order-preserving key of a logit, the exact penalty
// division, the weights, and the counter-based PCG generator.
// Included by sample_prep.wgsl, sample_select.wgsl and sample.wgsl.
// CPU twin: hearth_model::sampler (its module doc is the contract) · test:
// crates/gpu/tests/sample.rs, and kernels::sample's unit test for the struct layouts.

const WG_SIZE: u32 = 256u;       // invocations per workgroup (SwiftShader's limit); one
                                 // histogram bin each
const BINS: u32 = 256u;          // values of an 8-bit digit
const CAP: u32 = 1024u;          // most candidates sorted in workgroup memory (SAMPLE_CAP)
const CHUNK: u32 = 2048u;        // vocab ids per workgroup of the prep and select passes
const MAX_DIGITS: u32 = 8u;      // 4 digits of a key + at most 4 of an id

const NEG_INF_BITS: u32 = 0xff800000u;
const NEG_INF_KEY: u32 = 0x007fffffu;   // key_of(-inf): keys above it are candidates
const POS_INF_KEY: u32 = 0xff800000u;   // key_of(+inf)

const SAMPLE_ERROR: u32 = 0xffffffffu;  // no token: a NaN or +inf logit, or none above -inf
const SAMPLE_ON_CPU: u32 = 0xfffffffeu; // the pick depends on candidates past the sorted CAP

const FLAG_BAD: u32 = 1u;        // some logit is NaN or +inf
const FLAG_FINITE: u32 = 2u;     // some logit is above -inf (before the penalty)

struct Settings {
    n_vocab: u32,
    n_groups: u32,        // workgroups of the prep and select passes: ceil(n_vocab / CHUNK)
    id_digits: u32,       // 8-bit digits of n_vocab - 1 (0 when n_vocab is 1)
    greedy: u32,          // 1: temperature 0
    temperature: f32,
    top_k: u32,           // 0: off
    top_p: f32,           // 1: off
    min_p: f32,           // 0: off
    ln_min_p: f32,        // ln(min_p), from the CPU, so that the min-p floor is bit-exact
    penalty: u32,         // 1: repeat_penalty != 1 and repeat_last_n > 0
    repeat_penalty: f32,
    repeat_last_n: u32,   // ≤ history_cap
    history_cap: u32,     // ids the history ring holds
    seed_lo: u32,         // seed = seed_hi << 32 | seed_lo
    seed_hi: u32,
    _pad: u32,
}

// Per-dispatch values, fixed when the ops are made.
struct OpInfo {
    pass_index: u32,  // sample_select.wgsl: 1 … n_digits (= 4 + id_digits)
    token_slot: u32,  // sample.wgsl: index in `token` of the chosen id
    _pad0: u32,
    _pad1: u32,
}

// What the radix search for the head's last candidate (the "boundary") knows after some
// digits: the composite (key, idr) with idr = n_vocab - 1 - id orders candidates like the CPU
// (logit descending, then id ascending) when compared as one big unsigned number.
struct SelectState {
    key: u32,      // the boundary's key digits decided so far, the rest zero
    idr: u32,      // the same of its reversed id
    rank: u32,     // its rank (0: first) among the candidates sharing those digits
    digits: u32,   // digits decided
    done: u32,     // 1: every candidate sharing those digits is in the head
}

struct GroupPartial {
    best_key: u32,   // the largest key of this workgroup's ids (sample_prep)
    best_id: u32,    // the lowest id holding it
    tail_e: f32,     // Σ exp(l - L) over its candidates outside the head (sample_select)
    tail_w: f32,     // Σ exp((l - L) / T) over the same
}

// The sampler's working memory between its passes. sample.wgsl leaves every counter and
// histogram at zero for the next token (the buffer starts zeroed).
struct Scratch {
    max_key: atomic<u32>,    // largest key: L, the largest penalized logit
    n_cands: atomic<u32>,    // candidates: ids with a penalized logit above -inf
    flags: atomic<u32>,      // FLAG_BAD | FLAG_FINITE
    n_head: atomic<u32>,     // candidates gathered into the head
    hist: array<array<atomic<u32>, BINS>, MAX_DIGITS>,  // per digit, of the candidates
                                                        // sharing the digits before it
    state: array<SelectState, 9>,                       // after 0 … MAX_DIGITS digits
    groups: array<GroupPartial>,                        // n_groups
}

// --- keys: u32 whose unsigned order is the order of the logits ------------------------

// -0 maps to +0's key (the CPU compares floats: -0 == 0); NaN never gets here (checked).
fn key_of(bits: u32) -> u32 {
    var b = bits;
    if (b == 0x80000000u) {
        b = 0u;
    }
    if ((b & 0x80000000u) != 0u) {
        return ~b;
    }
    return b | 0x80000000u;
}

fn logit_of(key: u32) -> f32 {
    if ((key & 0x80000000u) != 0u) {
        return bitcast<f32>(key & 0x7fffffffu);
    }
    return bitcast<f32>(~key);
}

// --- radix digits of the composite (key, idr) ----------------------------------------

fn ones(n: u32) -> u32 {
    if (n >= 32u) {
        return 0xffffffffu;
    }
    return (1u << n) - 1u;
}

fn key_mask(digits: u32) -> u32 {
    if (digits == 0u) {
        return 0u;
    }
    if (digits >= 4u) {
        return 0xffffffffu;
    }
    return ~(0xffffffffu >> (8u * digits));
}

fn idr_mask(digits: u32, id_digits: u32) -> u32 {
    if (digits <= 4u) {
        return 0u;
    }
    return ones(8u * id_digits) & ~ones(8u * (id_digits - (digits - 4u)));
}

// Shift of digit j (0: the key's top byte) inside its word.
fn digit_shift(j: u32, id_digits: u32) -> u32 {
    if (j < 4u) {
        return 24u - 8u * j;
    }
    return 8u * (id_digits - 1u - (j - 4u));
}

fn digit_of(key: u32, idr: u32, j: u32, id_digits: u32) -> u32 {
    let w = select(idr, key, j < 4u);
    return (w >> digit_shift(j, id_digits)) & 0xffu;
}

// Whether a candidate's first `st.digits` digits match the boundary's (it is in the bin
// being searched), and whether they are at least the boundary's (it is in the head once the
// search is done).
fn shares_digits(key: u32, idr: u32, st: SelectState, id_digits: u32) -> bool {
    return (key & key_mask(st.digits)) == st.key
        && (idr & idr_mask(st.digits, id_digits)) == st.idr;
}

fn in_head(key: u32, idr: u32, st: SelectState, id_digits: u32) -> bool {
    let k = key & key_mask(st.digits);
    let i = idr & idr_mask(st.digits, id_digits);
    return k > st.key || (k == st.key && i >= st.idr);
}

// How many candidates the head holds: the top-k pool (all candidates when top_k is 0 or
// not below their count), at most CAP.
fn head_size(n_cands: u32, top_k: u32) -> u32 {
    var pool = n_cands;
    if (top_k > 0u && top_k < n_cands) {
        pool = top_k;
    }
    return min(pool, CAP);
}

// --- the repetition penalty, bit-exact ------------------------------------------------

// A positive finite float (or zero) as m · 2^e with an integer m < 2^24.
struct Split {
    m: u32,
    e: i32,
}

fn split(bits: u32) -> Split {
    let e = bits >> 23u;
    let f = bits & 0x7fffffu;
    if (e == 0u) {
        return Split(f, -149);
    }
    return Split(f | 0x800000u, i32(e) - 150);
}

fn bitlen(v: u32) -> u32 {
    return 32u - countLeadingZeros(v);
}

fn bitlen64(v: vec2<u32>) -> u32 {
    if (v.x != 0u) {
        return 64u - countLeadingZeros(v.x);
    }
    return bitlen(v.y);
}

// The 64-bit product (hi, lo) of a < 2^25 and b < 2^24.
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    let ll = a_lo * b_lo;
    let mid = a_lo * b_hi + a_hi * b_lo;   // < 2^26
    let lo = ll + ((mid & 0xffffu) << 16u);
    let hi = a_hi * b_hi + (mid >> 16u) + select(0u, 1u, lo < ll);
    return vec2<u32>(hi, lo);
}

// v << s for s < 64, when the result fits in 64 bits.
fn shl64(v: vec2<u32>, s: u32) -> vec2<u32> {
    if (s == 0u) {
        return v;
    }
    if (s < 32u) {
        return vec2<u32>((v.x << s) | (v.y >> (32u - s)), v.y << s);
    }
    return vec2<u32>(v.y << (s - 32u), 0u);
}

fn cmp64(a: vec2<u32>, b: vec2<u32>) -> i32 {
    if (a.x != b.x) {
        return select(-1, 1, a.x > b.x);
    }
    if (a.y != b.y) {
        return select(-1, 1, a.y > b.y);
    }
    return 0;
}

// The sign of x - mid · p, exactly, where mid is halfway between the float with bits c and
// the next one up: x = X·2^xe, mid = (2C + 1)·2^(ce - 1), p = P·2^pe.
fn cmp_midpoint(x: Split, c: u32, p: Split) -> i32 {
    let cs = split(c);
    let r = mul_wide(2u * cs.m + 1u, p.m);       // < 2^49
    let re = cs.e - 1 + p.e;
    let lx = bitlen(x.m);
    let lr = bitlen64(r);
    let top_x = i32(lx) + x.e;
    let top_r = i32(lr) + re;
    if (top_x != top_r) {
        return select(-1, 1, top_x > top_r);
    }
    // same magnitude: line the mantissas up (both below 2^49 once shifted)
    if (lr >= lx) {
        return cmp64(shl64(vec2<u32>(0u, x.m), lr - lx), r);
    }
    return cmp64(vec2<u32>(0u, x.m), shl64(r, lx - lr));
}

// The bits of x / p rounded to nearest even, as the CPU's f32 division gives them, for
// positive finite x and p. WGSL lets `/` be 2.5 ulp off, so: a guess within a few ulps from
// the mantissas and exponents, then steps to the neighbouring float while x lies beyond the
// midpoint on that side (compared exactly in integers). Subnormal and overflowing quotients
// come out right too (the bits step through them; 0x7f800000 is +inf).
fn div_rn_bits(xb: u32, pb: u32) -> u32 {
    let x = split(xb);
    let p = split(pb);
    // x = x1 · 2^ex1 and p = p1 · 2^ep1 with x1, p1 in [1, 2)
    let lx = bitlen(x.m) - 1u;
    let lp = bitlen(p.m) - 1u;
    let x1 = bitcast<f32>(((x.m << (23u - lx)) & 0x7fffffu) | 0x3f800000u);
    let p1 = bitcast<f32>(((p.m << (23u - lp)) & 0x7fffffu) | 0x3f800000u);
    let q1 = bitcast<u32>(x1 * (1.0 / p1));      // in (0.5, 2), a few ulps off
    let field = i32(q1 >> 23u) + (x.e + i32(lx)) - (p.e + i32(lp));
    var c: u32;
    if (field >= 255) {
        c = 0x7f800000u;
    } else if (field >= 1) {
        c = (q1 & 0x7fffffu) | (u32(field) << 23u);
    } else if (field > -24) {
        c = ((q1 & 0x7fffffu) | 0x800000u) >> u32(1 - field);
    } else {
        c = 0u;
    }
    for (var i = 0u; i < 8u; i++) {
        if (c < 0x7f800000u) {
            let up = cmp_midpoint(x, c, p);
            if (up > 0 || (up == 0 && (c & 1u) == 1u)) {
                c += 1u;
                continue;
            }
        }
        if (c > 0u) {
            let down = cmp_midpoint(x, c - 1u, p);
            if (down < 0 || (down == 0 && (c & 1u) == 1u)) {
                c -= 1u;
                continue;
            }
        }
        break;
    }
    return c;
}

// The key of a penalized logit (llama.cpp's rule): l / penalty when l > 0, l · penalty
// otherwise (f32 multiplication is exact-rounded in WGSL; -inf stays -inf).
fn penalized_key(bits: u32, penalty: f32) -> u32 {
    if (bits == NEG_INF_BITS) {
        return NEG_INF_KEY;
    }
    if (bits == 0u || bits == 0x80000000u) {
        return key_of(0u);
    }
    if ((bits & 0x80000000u) == 0u) {
        return div_rn_bits(bits, bitcast<u32>(penalty)) | 0x80000000u;
    }
    return key_of(bitcast<u32>(bitcast<f32>(bits) * penalty));
}

// --- weights --------------------------------------------------------------------------

// exp(d) for d = l - L ≤ 0, and exactly 1 at 0 and 0 below -104 (or at -inf), where the
// CPU's f32 exp gives 1 and 0 too.
fn exp_le0(d: f32) -> f32 {
    if (d == 0.0) {
        return 1.0;
    }
    if (d < -104.0) {
        return 0.0;
    }
    return exp(d);
}

// The draw's weight exp((l - L) / T); exactly 1 for the largest logits, at any T.
fn weight(d: f32, t: f32) -> f32 {
    if (d == 0.0) {
        return 1.0;
    }
    return exp_le0(d / t);
}

// --- random numbers: hearth_model::sampler::{pcg_hash, uniform}, bit for bit ------------

fn pcg(x: u32) -> u32 {
    let v = x * 747796405u + 2891336453u;
    let w = ((v >> ((v >> 28u) + 4u)) ^ v) * 277803737u;
    return (w >> 22u) ^ w;
}

// Draw number `step` of the seed: 24 random bits in [0, 1).
fn uniform_at(seed_lo: u32, seed_hi: u32, step: u32) -> f32 {
    let key = pcg(seed_lo ^ pcg(seed_hi));
    return f32(pcg(key ^ pcg(step)) >> 8u) * (1.0 / 16777216.0);
}
