//! embedding.wgsl against `hearth_gguf::dequantize`, bit for bit.

use hearth_gguf::{GgmlType, dequantize_vec};
use hearth_gpu::{FORMATS, Gpu, GpuTensor, GpuWeights, kernels};

use super::{Rng, random_weights};

/// Dequantizes rows `tokens` of a `rows` × `cols` matrix on the GPU.
pub async fn gpu_rows(
    g: &Gpu,
    ty: GgmlType,
    rows: usize,
    cols: usize,
    bytes: &[u8],
    tokens: &[u32],
) -> Vec<f32> {
    let w = GpuWeights::upload(g, "w", ty, rows, cols, bytes).unwrap();
    let t = GpuTensor::from_slice(g, tokens, "tokens");
    let out = GpuTensor::zeros(g, tokens.len() * cols, "out");
    kernels::submit(
        g,
        &kernels::embedding(g, &w, &t, tokens.len(), &out).unwrap(),
    );
    out.read(g).await.unwrap()
}

/// Asserts that the GPU's values are the CPU's bit for bit (any NaN matches any NaN).
pub fn assert_same_bits(ty: GgmlType, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let same = g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan());
        assert!(
            same,
            "embedding {ty:?} element {i}: got {g:e} ({:#010x}) want {w:e} ({:#010x})",
            g.to_bits(),
            w.to_bits()
        );
    }
}

/// Every format: 37 rows of 3 blocks (for 8-weight blocks, 24 weights) of random weights.
pub async fn every_format_bit_exactly(g: &Gpu) {
    let mut rng = Rng::new(1);
    for &ty in FORMATS {
        let cols = ty.block_elems().max(8) * 3;
        let rows = 37;
        let bytes = random_weights(&mut rng, ty, rows, cols);
        let want = dequantize_vec(ty, &bytes).unwrap();
        let tokens: Vec<u32> = (0..rows as u32).collect();
        let got = gpu_rows(g, ty, rows, cols, &bytes, &tokens).await;
        assert_same_bits(ty, &got, &want);
    }
}

/// Every format from fully random bytes: NaN, Inf and subnormal scales included, all must
/// propagate exactly.
pub async fn random_bytes_and_subnormal_scales(g: &Gpu) {
    let mut rng = Rng::new(2);
    for &ty in FORMATS {
        let cols = ty.block_elems().max(8) * 4;
        let rows = 64;
        let mut bytes = rng.bytes(rows * ty.row_bytes(cols as u64).unwrap() as usize);
        if ty.block_elems() > 1 {
            // block 0: the smallest f16 subnormal as its scale (d at byte 0, except Q6_K)
            let at = if ty == GgmlType::Q6_K { 208 } else { 0 };
            bytes[at..at + 2].copy_from_slice(&1u16.to_le_bytes());
        }
        let want = dequantize_vec(ty, &bytes).unwrap();
        let tokens: Vec<u32> = (0..rows as u32).collect();
        let got = gpu_rows(g, ty, rows, cols, &bytes, &tokens).await;
        assert_same_bits(ty, &got, &want);
    }
}
