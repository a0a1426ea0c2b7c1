// gelu.wgsl: GELU in its tanh form, gelu(z) = z/2 · (1 + tanh(√(2/π) · (z + 0.044715 z³))),
// the GeGLU activation (Gemma: silu_mul.wgsl with GELU, and the GLU mode 2 of the matvec
// kernels). CPU twin: hearth_model::ops::gelu.
//
// 1/2 · (1 + tanh(u)) is sigmoid(2u), built as silu.wgsl builds its sigmoid, from
// e^(−2|u|) ∈ (0, 1]: nothing is ever infinite or 0/0 for a finite z (a tanh written as
// (e^2u − 1) / (e^2u + 1) is ∞/∞ from u ≈ 44 on), and z³ overflowing to ±∞ still gives z or 0.

const GELU_SQRT_2_OVER_PI: f32 = 0.7978845608028654;

fn gelu(z: f32) -> f32 {
    let u = GELU_SQRT_2_OVER_PI * z * (1.0 + 0.044715 * z * z);
    let e = exp(-2.0 * abs(u));
    return z * select(e, 1.0, u >= 0.0) / (1.0 + e);
}
