//! silu_mul.wgsl against `hearth_model::ops::silu_mul`, and with GELU against
//! `hearth_model::ops::gelu_mul`.

use hearth_gpu::kernels::Glu;
use hearth_gpu::{Gpu, GpuTensor, kernels};
use hearth_model::ops;

/// Allowed error relative to |gate · up|. The kernel's sigmoid, sel / (1 + e^(−|z|)), differs
/// from the twin's 1 / (1 + e^(−z)) by a few roundings (~4 · 2⁻²⁴) plus the error of the
/// driver's exp, which WGSL bounds by (3 + 2|z|) ulp; that error enters multiplied by
/// e^(−|z|), so (3 + 2|z|) · e^(−|z|) ≤ 3 ulp for every z. GELU's kernel is the same
/// sigmoid of 2u, u = √(2/π)(z + 0.044715 z³) (the same bound for its exp); its twin's
/// z/2 · (1 + tanh(u)) loses up to 2⁻²⁴ of 1 where tanh(u) ≈ −1, |z| · 3e-8 absolute:
/// within the same budget.
pub const REL_TOL: f32 = 1e-6;

/// Elements whose workgroups overflow one dispatch dimension (65535 groups of 256).
pub const LONG: usize = 65535 * 256 + 333;

/// SiLU(gate) · up on the GPU against the CPU, within [`REL_TOL`] · |gate · up|.
pub async fn check(g: &Gpu, gate: &[f32], up: &[f32]) {
    check_glu(g, Glu::Silu, gate, up).await;
}

/// act(gate) · up on the GPU (silu_mul, or gelu_mul) against the CPU, within
/// [`REL_TOL`] · |gate · up|.
pub async fn check_glu(g: &Gpu, act: Glu, gate: &[f32], up: &[f32]) {
    let n = gate.len();
    let mut want = vec![0.0; n];
    match act {
        Glu::Silu => ops::silu_mul(&mut want, gate, up),
        Glu::Gelu => ops::gelu_mul(&mut want, gate, up),
    }

    let gg = GpuTensor::from_slice(g, gate, "gate");
    let ug = GpuTensor::from_slice(g, up, "up");
    let out = GpuTensor::zeros(g, n, "out");
    let ops = match act {
        Glu::Silu => kernels::silu_mul(g, &gg, &ug, &out, n),
        Glu::Gelu => kernels::gelu_mul(g, &gg, &ug, &out, n),
    };
    kernels::submit(g, &ops.unwrap());
    let got: Vec<f32> = out.read(g).await.unwrap();

    for i in 0..n {
        let err = (got[i] - want[i]).abs();
        let mag = (gate[i] * up[i]).abs();
        assert!(
            got[i].is_finite() && err <= REL_TOL * mag,
            "{act:?} GLU of {n}, element {i}: gate {} up {}: got {:e} want {:e} (|diff| {err:e})",
            gate[i],
            up[i],
            got[i],
            want[i]
        );
    }
}

/// Gates that overflow a naive e^(−z) (or e^(2u), or z³), and the edges of f32.
pub fn large_gates() -> Vec<f32> {
    let mut gate = vec![0.0, -0.0, 1e-30, -1e-30, f32::MAX, -f32::MAX, 3e38, -3e38];
    for z in [
        5.0, 10.0, 20.0, 44.0, 80.0, 88.0, 88.8, 89.0, 100.0, 104.0, 200.0, 1e4, 1e13, 1e20, 1e30,
    ] {
        gate.extend([z, -z]);
    }
    gate
}
