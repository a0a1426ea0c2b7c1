// rope_turn.wgsl: cos and sin of a RoPE angle, shared by rope.wgsl and rope_store.wgsl.
// θ = 2π · pos · speed, where speed (turns per position) comes as three f32 hi + mid + lo
// (kernels::RopeFreqs).
//
// Precision: θ reaches thousands of radians, and an f32 θ (or an f32 frequency times pos) is
// off by |θ| · 2⁻²⁴, e.g. 5e-4 rad at position 8000, before sin and cos even start. So the
// angle is kept in turns and reduced exactly: hi and mid have 7 significant bits, so pos · hi
// and pos · mid are exact in f32 for pos < 2¹⁷ and their fractional parts lose nothing; lo
// is below 2⁻¹³ of the whole. The turn in [−½, ½] is cut exactly into quarter turns and r in
// [−⅛, ⅛], and cos and sin of 2πr come from polynomials (cephes' cosf/sinf, about 1 ulp), not
// the driver's: WGSL bounds those only to 2⁻¹¹ absolute on [−π, π], and SwiftShader (WebGPU
// without a GPU) errs by 1.9e-4 there.

const TAU: f32 = 6.283185307179586;

// (cos θ, sin θ) for position `pos` and the speed `f` = (hi, mid, lo, unused).
fn rope_cos_sin(pos: f32, f: vec4<f32>) -> vec2<f32> {
    // turns = pos · (hi + mid + lo), less whole turns, in [−0.5, 0.5]
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
    return vec2<f32>(c, s);
}

// The pair v rotated by the angle whose (cos, sin) is cs.
fn rope_rotate(v: vec2<f32>, cs: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(v.x * cs.x - v.y * cs.y, v.x * cs.y + v.y * cs.x);
}
