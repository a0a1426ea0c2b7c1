// rope.wgsl: rotary position embedding of q or k, in place ("normal" GGML RoPE of arch
// llama): in each head, the adjacent pair (x[2i], x[2i+1]) of token t, i < rope_dim / 2, is
// rotated by θ = (step.pos + t) · base^(−2i/rope_dim) · freq_scale / ff[i]; dims from
// rope_dim on pass through.
// bindings: 0 x array<vec2<f32>> (n_tokens × n_heads × head_dim / 2 pairs, read and written)
//           · 1 freqs array<vec4<f32>> (rope_dim / 2: each pair's turns per position, split
//           in three, see kernels::RopeFreqs) · 2 step (common/step.wgsl) · 3 params
// dispatch: ceil(n_tokens · n_heads · rope_dim / 2 / WG_SIZE) workgroups of WG_SIZE
//           (override, ≤ 256), one invocation per rotated pair, laid out 2-D above 65535
//           (k = (wg.x + wg.y · num_workgroups.x) · WG_SIZE + local index)
// CPU twin: hearth_model::ops::rope (angles in f64) · test: crates/gpu/tests/rope.rs
//
// Precision: θ reaches thousands of radians, and an f32 θ (or an f32 frequency times pos) is
// off by |θ| · 2⁻²⁴, e.g. 5e-4 rad at position 8000, before sin and cos even start. So the
// angle is kept in turns and reduced exactly: freqs[i] = hi + mid + lo with hi and mid of 7
// significant bits, so pos · hi and pos · mid are exact in f32 for pos < 2¹⁷ and their
// fractional parts lose nothing; lo is below 2⁻¹³ of the whole. The turn in [−½, ½] is cut
// exactly into quarter turns and r in [−⅛, ⅛], and cos and sin of 2πr come from polynomials
// (cephes' cosf/sinf, about 1 ulp), not the driver's: WGSL bounds those only to 2⁻¹¹
// absolute on [−π, π], and SwiftShader (WebGPU without a GPU) errs by 1.9e-4 there.

#include "common/step.wgsl"

struct Params {
    n_tokens: u32,   // tokens in x
    n_heads: u32,    // heads per token
    head_pairs: u32, // head_dim / 2
    rope_pairs: u32, // rope_dim / 2: rotated pairs per head
}

@group(0) @binding(0) var<storage, read_write> x: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> freqs: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> step: Step;
@group(0) @binding(3) var<uniform> p: Params;

override WG_SIZE: u32 = 256u;

const TAU: f32 = 6.283185307179586;

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
    // turns = pos · (hi + mid + lo), less whole turns, in [−0.5, 0.5]
    let f = freqs[i];
    let a = fract(pos * f.x) + fract(pos * f.y);
    let b = a - round(a) + pos * f.z;
    let turn = b - round(b);
    // θ = 2π · turn = qπ/2 + φ, |φ| ≤ π/4 (turn − q/4 is exact)
    let q = round(4.0 * turn);
    let phi = TAU * (turn - 0.25 * q);
    let z = phi * phi;
    let sx = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * phi + phi;
    let cx = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2)
        * z * z - 0.5 * z + 1.0;
    // turn by q quarters: (cos, sin) = (c, s), (−s, c), (−c, −s), (s, −c) for q mod 4 = 0..3
    let qm = i32(q) & 3;
    let odd = (qm & 1) == 1;
    let c0 = select(cx, sx, odd);  // cos φ, or sin φ
    let s0 = select(sx, cx, odd);
    let c = select(c0, -c0, qm == 1 || qm == 2);
    let s = select(s0, -s0, qm >= 2);
    let j = head * p.head_pairs + i;
    let v = x[j];
    x[j] = vec2<f32>(v.x * c - v.y * s, v.x * s + v.y * c);
}
