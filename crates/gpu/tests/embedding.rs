//! embedding.wgsl against its CPU twin, `hearth_gguf::dequantize`: bit for bit, for every
//! GPU weight format, including scales that are f16 subnormals and non-finite values.

mod common;

use common::{Rng, gpu, random_weights};
use hearth_gguf::{GgmlType, dequantize_vec};
use hearth_gpu::{FORMATS, GpuTensor, GpuWeights, kernels};

/// Dequantizes rows `tokens` of a `rows` × `cols` matrix on the GPU.
fn gpu_rows(
    g: &hearth_gpu::Gpu,
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
    out.read_blocking(g).unwrap()
}

fn assert_same_bits(ty: GgmlType, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let same = g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan());
        assert!(
            same,
            "{ty:?} element {i}: got {g:e} ({:#010x}) want {w:e} ({:#010x})",
            g.to_bits(),
            w.to_bits()
        );
    }
}

#[test]
fn dequantizes_every_format_bit_exactly() {
    let g = gpu();
    let mut rng = Rng::new(1);
    for &ty in FORMATS {
        let cols = ty.block_elems().max(8) * 3;
        let rows = 37;
        let bytes = random_weights(&mut rng, ty, rows, cols);
        let want = dequantize_vec(ty, &bytes).unwrap();
        let tokens: Vec<u32> = (0..rows as u32).collect();
        assert_same_bits(ty, &gpu_rows(&g, ty, rows, cols, &bytes, &tokens), &want);
    }
}

#[test]
fn random_bytes_and_subnormal_scales_survive() {
    // fully random bytes: NaN, Inf and subnormal scales included, all must propagate exactly
    let g = gpu();
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
        assert_same_bits(ty, &gpu_rows(&g, ty, rows, cols, &bytes, &tokens), &want);
    }
}

#[test]
fn looks_up_tokens_across_split_buffers() {
    let mut g = gpu();
    let mut rng = Rng::new(3);
    let (ty, rows, cols) = (GgmlType::Q8_0, 50, 64);
    let bytes = random_weights(&mut rng, ty, rows, cols);
    let all = dequantize_vec(ty, &bytes).unwrap();
    // 7 rows per buffer: the matrix lands in 8 parts
    g.max_binding_bytes = 7 * (cols / 32 * 36) as u64;
    let w = GpuWeights::upload(&g, "w", ty, rows, cols, &bytes).unwrap();
    assert_eq!(w.parts.len(), 8);
    let tokens = [49u32, 0, 7, 6, 13, 14, 25];
    let got = gpu_rows(&g, ty, rows, cols, &bytes, &tokens);
    let want: Vec<f32> = tokens
        .iter()
        .flat_map(|&t| all[t as usize * cols..][..cols].to_vec())
        .collect();
    assert_same_bits(ty, &got, &want);
}
