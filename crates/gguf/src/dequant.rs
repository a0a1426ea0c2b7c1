//! CPU dequantization of ggml block formats to f32, bit-exact with the `gguf` Python package.
//!
//! Every format is one small function that turns one block (a fixed-size byte array) into
//! its weights; [`dequantize`] checks the lengths once and runs it over all blocks. The math
//! is exactly `docs/gguf.md` §2: f16 scales are widened exactly (subnormals kept), every
//! product of scale and quant is exact in f32, so the only rounding is the final add or
//! subtract of a min term, and the results equal the references bit for bit. Non-finite
//! scales propagate as IEEE-754 says (Inf · 0 = NaN); nothing here panics on any input.

mod kquants;
pub use kquants::k4_scale_min;
mod legacy;

use half::f16;

use crate::{GgmlType, GgufError, Result};

/// Dequantizes whole blocks of `ty` from `bytes` into `out` (out.len() == elements in bytes).
///
/// Errors: [`GgufError::UnsupportedType`] for Q8_1/Q8_K (activation-only formats),
/// [`GgufError::PartialBlock`] when `bytes` is not a whole number of blocks, and
/// [`GgufError::OutputLength`] when `out` does not hold exactly one value per element.
pub fn dequantize(ty: GgmlType, bytes: &[u8], out: &mut [f32]) -> Result<()> {
    let blocks = block_count(ty, bytes)?;
    let per_block = ty.block_elems();
    if !out.len().is_multiple_of(per_block) || out.len() / per_block != blocks {
        return Err(GgufError::OutputLength {
            ty,
            blocks,
            per_block,
            got: out.len(),
        });
    }
    match ty {
        GgmlType::F32 => each_block(ty, bytes, out, f32_value),
        GgmlType::F16 => each_block(ty, bytes, out, f16_value),
        GgmlType::BF16 => each_block(ty, bytes, out, bf16_value),
        GgmlType::Q4_0 => each_block(ty, bytes, out, legacy::q4_0),
        GgmlType::Q4_1 => each_block(ty, bytes, out, legacy::q4_1),
        GgmlType::Q5_0 => each_block(ty, bytes, out, legacy::q5_0),
        GgmlType::Q5_1 => each_block(ty, bytes, out, legacy::q5_1),
        GgmlType::Q8_0 => each_block(ty, bytes, out, legacy::q8_0),
        GgmlType::Q2_K => each_block(ty, bytes, out, kquants::q2_k),
        GgmlType::Q3_K => each_block(ty, bytes, out, kquants::q3_k),
        GgmlType::Q4_K => each_block(ty, bytes, out, kquants::q4_k),
        GgmlType::Q5_K => each_block(ty, bytes, out, kquants::q5_k),
        GgmlType::Q6_K => each_block(ty, bytes, out, kquants::q6_k),
        // Rejected by `block_count` already.
        GgmlType::Q8_1 | GgmlType::Q8_K => return Err(GgufError::UnsupportedType { ty }),
    }
    Ok(())
}

/// Same, into a new Vec ([`GgufError::OutputTooLarge`] if it cannot be allocated).
pub fn dequantize_vec(ty: GgmlType, bytes: &[u8]) -> Result<Vec<f32>> {
    let blocks = block_count(ty, bytes)?;
    let per_block = ty.block_elems();
    let too_large = GgufError::OutputTooLarge {
        ty,
        blocks,
        per_block,
    };
    let Some(n) = blocks.checked_mul(per_block) else {
        return Err(too_large);
    };
    let mut out = Vec::new();
    out.try_reserve_exact(n).map_err(|_| too_large)?;
    out.resize(n, 0.0);
    dequantize(ty, bytes, &mut out)?;
    Ok(out)
}

/// Number of whole blocks of `ty` in `bytes`, or the error for an unsupported type or a
/// length that ends inside a block.
fn block_count(ty: GgmlType, bytes: &[u8]) -> Result<usize> {
    if matches!(ty, GgmlType::Q8_1 | GgmlType::Q8_K) {
        return Err(GgufError::UnsupportedType { ty });
    }
    let block = ty.block_bytes();
    if !bytes.len().is_multiple_of(block) {
        return Err(GgufError::PartialBlock {
            ty,
            len: bytes.len(),
            block,
        });
    }
    Ok(bytes.len() / block)
}

/// Runs `block` over each `B`-byte block of `bytes` and the matching `N` values of `out`
/// (the caller has checked that both hold the same number of blocks of `ty`).
#[inline(always)]
fn each_block<const B: usize, const N: usize>(
    ty: GgmlType,
    bytes: &[u8],
    out: &mut [f32],
    block: impl Fn(&[u8; B], &mut [f32; N]),
) {
    debug_assert_eq!(
        (B, N),
        (ty.block_bytes(), ty.block_elems()),
        "{ty:?} block shape"
    );
    let (blocks, _) = bytes.as_chunks::<B>();
    let (outs, _) = out.as_chunks_mut::<N>();
    for (b, y) in blocks.iter().zip(outs) {
        block(b, y);
    }
}

/// The f16 at byte `off` of `b`, widened exactly to f32 (subnormals, Inf and NaN kept).
#[inline(always)]
fn f16_at(b: &[u8], off: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[off], b[off + 1]])).to_f32()
}

/// F32: one little-endian IEEE binary32, copied bit for bit.
fn f32_value(b: &[u8; 4], y: &mut [f32; 1]) {
    y[0] = f32::from_le_bytes(*b);
}

/// F16: one IEEE binary16, widened exactly.
fn f16_value(b: &[u8; 2], y: &mut [f32; 1]) {
    y[0] = f16_at(b, 0);
}

/// BF16: the upper 16 bits of an f32 (the lower 16 are zero), so exact.
fn bf16_value(b: &[u8; 2], y: &mut [f32; 1]) {
    y[0] = f32::from_bits(u32::from(u16::from_le_bytes(*b)) << 16);
}
