//! embedding.wgsl against `hearth_gguf::dequantize`, bit for bit (and, scaled, against the
//! dequantized values times the scale in f32).

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
    gpu_rows_scaled(g, ty, rows, cols, bytes, tokens, 1.0).await
}

/// Rows `tokens` of a `rows` × `cols` matrix on the GPU, times `scale`.
pub async fn gpu_rows_scaled(
    g: &Gpu,
    ty: GgmlType,
    rows: usize,
    cols: usize,
    bytes: &[u8],
    tokens: &[u32],
    scale: f32,
) -> Vec<f32> {
    let w = GpuWeights::upload(g, "w", ty, rows, cols, bytes).unwrap();
    let t = GpuTensor::from_slice(g, tokens, "tokens");
    let out = GpuTensor::zeros(g, tokens.len() * cols, "out");
    kernels::submit(
        g,
        &kernels::embedding(g, &w, &t, tokens.len(), &out, scale).unwrap(),
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

/// Every format, looked up in scrambled order and scaled by Gemma's √n_embd (√640, √1152)
/// and by an exact power of two: bit for bit what the reference computes, the dequantized
/// value times the scale in f32 (one rounding, the same on both sides).
pub async fn every_format_scaled(g: &Gpu) {
    let mut rng = Rng::new(3);
    for (i, &ty) in FORMATS.iter().enumerate() {
        let cols = ty.block_elems().max(8) * 2;
        let rows = 29;
        let bytes = random_weights(&mut rng, ty, rows, cols);
        let all = dequantize_vec(ty, &bytes).unwrap();
        let tokens: Vec<u32> = (0..rows as u32)
            .map(|t| (t * 11 + 5) % rows as u32)
            .collect();
        let scale = [(640f32).sqrt(), (1152f32).sqrt(), 0.25][i % 3];
        let got = gpu_rows_scaled(g, ty, rows, cols, &bytes, &tokens, scale).await;
        let want: Vec<f32> = tokens
            .iter()
            .flat_map(|&t| all[t as usize * cols..][..cols].iter().map(|v| v * scale))
            .collect();
        assert_same_bits(ty, &got, &want);
    }
}
