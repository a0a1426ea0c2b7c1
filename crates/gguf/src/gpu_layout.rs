//! The GPU layout of each block format: GGUF blocks repacked so that every block starts
//! on a u32 word and its quant bytes are word-aligned, values unchanged (`docs/gguf.md`
//! §2.4). WGSL reads weights as `array<u32>`, so this is what `shaders/formats/*.wgsl`
//! decode.
//!
//! * 32- and 256-weight blocks whose size is a multiple of 4 bytes are copied as they are.
//! * Q4_0, Q5_0 and Q8_0 (18, 22, 34 bytes) start with an f16 scale: two zero bytes are
//!   inserted after it, so the rest of the block is word-aligned.
//! * Q3_K and Q6_K (110, 210 bytes) end with their f16 scale: two zero bytes are appended.
//! * F32, F16 and BF16 are grouped into blocks of 8 values (rows must be whole blocks).

use crate::{GgmlType, GgufError, Result};

/// How one block format is laid out on the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuLayout {
    /// Weights per GPU block.
    pub block_elems: usize,
    /// u32 words per GPU block.
    pub block_words: usize,
    /// GGUF bytes per GPU block.
    src_bytes: usize,
    /// Byte offset in the GGUF block where two zero bytes are inserted (may be the end).
    pad_at: Option<usize>,
}

impl GpuLayout {
    /// The GPU layout of `ty`, or an error for activation-only formats.
    pub fn of(ty: GgmlType) -> Result<GpuLayout> {
        let (block_elems, src_bytes, pad_at) = match ty {
            GgmlType::F32 => (8, 32, None),
            GgmlType::F16 | GgmlType::BF16 => (8, 16, None),
            GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => {
                (ty.block_elems(), ty.block_bytes(), Some(2))
            }
            GgmlType::Q3_K | GgmlType::Q6_K => {
                (ty.block_elems(), ty.block_bytes(), Some(ty.block_bytes()))
            }
            GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q2_K | GgmlType::Q4_K | GgmlType::Q5_K => {
                (ty.block_elems(), ty.block_bytes(), None)
            }
            GgmlType::Q8_1 | GgmlType::Q8_K => return Err(GgufError::UnsupportedType { ty }),
        };
        let padded = src_bytes + if pad_at.is_some() { 2 } else { 0 };
        debug_assert_eq!(padded % 4, 0);
        Ok(GpuLayout {
            block_elems,
            block_words: padded / 4,
            src_bytes,
            pad_at,
        })
    }

    /// u32 words of one row of `cols` weights, or an error when `cols` is not whole blocks.
    pub fn row_words(&self, ty: GgmlType, cols: usize) -> Result<usize> {
        if !cols.is_multiple_of(self.block_elems) {
            return Err(GgufError::BadTensor {
                name: format!("{ty:?} row"),
                msg: format!(
                    "{cols} weights are not whole GPU blocks of {}",
                    self.block_elems
                ),
            });
        }
        Ok(cols / self.block_elems * self.block_words)
    }

    /// Repacks whole GGUF blocks `src` into GPU blocks, appended to `out` as bytes.
    pub fn repack_into(&self, ty: GgmlType, src: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if !src.len().is_multiple_of(self.src_bytes) {
            return Err(GgufError::PartialBlock {
                ty,
                len: src.len(),
                block: self.src_bytes,
            });
        }
        match self.pad_at {
            None => out.extend_from_slice(src),
            Some(at) => {
                out.reserve(src.len() / self.src_bytes * self.block_words * 4);
                for block in src.chunks_exact(self.src_bytes) {
                    out.extend_from_slice(&block[..at]);
                    out.extend_from_slice(&[0, 0]);
                    out.extend_from_slice(&block[at..]);
                }
            }
        }
        Ok(())
    }

    /// Repacks whole GGUF blocks into a new byte vector (a multiple of 4 bytes long).
    pub fn repack(&self, ty: GgmlType, src: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.repack_into(ty, src, &mut out)?;
        Ok(out)
    }
}
