// silu.wgsl: silu(z) = z · sigmoid(z), the SwiGLU activation (silu_mul.wgsl, and the GLU
// mode of matvec.wgsl and matvec_rowwise.wgsl). CPU twin: hearth_model::ops::silu_mul.
//
// The sigmoid is built from e^(−|z|) ∈ (0, 1]: no intermediate is ever infinite for a finite
// z. The twin's z / (1 + e^(−z)) overflows e^(−z) below z ≈ −88 and relies on z / ∞ = 0,
// which fast-math shader compilers (Metal's default) do not promise.
fn silu(z: f32) -> f32 {
    let e = exp(-abs(z));
    return z * select(e, 1.0, z >= 0.0) / (1.0 + e);
}
