//! silu_mul.wgsl against `hearth_model::ops::silu_mul`.

use hearth_gpu::{Gpu, GpuTensor, kernels};
use hearth_model::ops;

/// Allowed error relative to |gate · up|. The kernel's sigmoid, sel / (1 + e^(−|z|)), differs
/// from the twin's 1 / (1 + e^(−z)) by a few roundings (~4 · 2⁻²⁴) plus the error of the
/// driver's exp, which WGSL bounds by (3 + 2|z|) ulp; that error enters multiplied by
/// e^(−|z|), so (3 + 2|z|) · e^(−|z|) ≤ 3 ulp for every z.
pub const REL_TOL: f32 = 1e-6;

/// Elements whose workgroups overflow one dispatch dimension (65535 groups of 256).
pub const LONG: usize = 65535 * 256 + 333;

/// SiLU(gate) · up on the GPU against the CPU, within [`REL_TOL`] · |gate · up|.
pub async fn check(g: &Gpu, gate: &[f32], up: &[f32]) {
    let n = gate.len();
    let mut want = vec![0.0; n];
    ops::silu_mul(&mut want, gate, up);

    let gg = GpuTensor::from_slice(g, gate, "gate");
    let ug = GpuTensor::from_slice(g, up, "up");
    let out = GpuTensor::zeros(g, n, "out");
    kernels::submit(g, &kernels::silu_mul(g, &gg, &ug, &out, n).unwrap());
    let got: Vec<f32> = out.read(g).await.unwrap();

    for i in 0..n {
        let err = (got[i] - want[i]).abs();
        let mag = (gate[i] * up[i]).abs();
        assert!(
            got[i].is_finite() && err <= REL_TOL * mag,
            "silu_mul of {n}, element {i}: gate {} up {}: got {:e} want {:e} (|diff| {err:e})",
            gate[i],
            up[i],
            got[i],
            want[i]
        );
    }
}
