//! The GGUF weight formats as the integer kernels see them: each block is cut into groups
//! of 32 weights, and group weight i is `d[h] · q[i] − m[h]` with q a small integer and
//! (d, m) the coefficients of its half h = i / 16 (formats with one scale per 32 weights
//! have equal halves). Every format is one [`Quant`] impl; the portable decoders here are
//! also what the SIMD decoders are tested against.

mod kquants;
mod legacy;

pub use kquants::{Q2K, Q3K, Q4K, Q5K, Q6K};
pub use legacy::{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0};

/// Weights per group.
pub const GROUP: usize = 32;

/// The coefficients of one group: weight i = d[i / 16] · q[i] − m[i / 16].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Coef {
    pub d: [f32; 2],
    pub m: [f32; 2],
}

impl Coef {
    /// One scale and min for all 32 weights.
    #[inline(always)]
    pub fn uniform(d: f32, m: f32) -> Coef {
        Coef {
            d: [d, d],
            m: [m, m],
        }
    }
}

/// A block format of GGUF weights for the integer kernels.
pub trait Quant {
    /// Bytes per block.
    const BYTES: usize;
    /// Groups of 32 weights per block.
    const GROUPS: usize;
    /// True when q is signed (its bytes are i8), else unsigned.
    const SIGNED: bool = false;
    /// True when the two halves of a group have their own coefficients.
    const SPLIT: bool = false;

    /// Group `g` of block `b` (exactly [`Quant::BYTES`] bytes): its quants into `q` (as
    /// bytes of i8 when [`Quant::SIGNED`]) and its coefficients.
    fn group(b: &[u8], g: usize, q: &mut [u8; GROUP]) -> Coef;

    /// [`Quant::group`] as two AVX2 registers of 16-bit lanes (weights 0..16 and 16..32),
    /// for the x86-64 kernels.
    ///
    /// # Safety
    /// The CPU has AVX2, FMA and F16C, and `b` holds [`Quant::BYTES`] bytes.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn halves_avx2(b: &[u8], g: usize) -> (Halves, Coef) {
        use std::arch::x86_64::*;
        let mut q = [0u8; GROUP];
        let c = Self::group(b, g, &mut q);
        // SAFETY: q is 32 bytes; loadu has no alignment need
        unsafe {
            let lo = _mm_loadu_si128(q.as_ptr().cast());
            let hi = _mm_loadu_si128(q.as_ptr().add(16).cast());
            let h = if Self::SIGNED {
                [_mm256_cvtepi8_epi16(lo), _mm256_cvtepi8_epi16(hi)]
            } else {
                [_mm256_cvtepu8_epi16(lo), _mm256_cvtepu8_epi16(hi)]
            };
            (h, c)
        }
    }

    /// [`Quant::group`] as four wasm vectors of 16-bit lanes, for the simd128 kernels.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn quarters_simd128(b: &[u8], g: usize) -> (Quarters, Coef) {
        use std::arch::wasm32::*;
        let mut q = [0u8; GROUP];
        let c = Self::group(b, g, &mut q);
        // SAFETY: q is 32 bytes; v128_load has no alignment need
        let (lo, hi) = unsafe {
            (
                v128_load(q.as_ptr().cast()),
                v128_load(q.as_ptr().add(16).cast()),
            )
        };
        (widen128(lo, hi, Self::SIGNED), c)
    }
}

/// A group's 32 quants as four vectors of eight i16 (weights 0..8, 8..16, 16..24, 24..32).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub type Quarters = [std::arch::wasm32::v128; 4];

/// 32 quant bytes (two vectors) widened to [`Quarters`].
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub(crate) fn widen128(
    a: std::arch::wasm32::v128,
    b: std::arch::wasm32::v128,
    signed: bool,
) -> Quarters {
    use std::arch::wasm32::*;
    if signed {
        [
            i16x8_extend_low_i8x16(a),
            i16x8_extend_high_i8x16(a),
            i16x8_extend_low_i8x16(b),
            i16x8_extend_high_i8x16(b),
        ]
    } else {
        [
            u16x8_extend_low_u8x16(a),
            u16x8_extend_high_u8x16(a),
            u16x8_extend_low_u8x16(b),
            u16x8_extend_high_u8x16(b),
        ]
    }
}

/// A group's 32 quants as two vectors of sixteen i16 (weights 0..16, 16..32).
#[cfg(target_arch = "x86_64")]
pub type Halves = [std::arch::x86_64::__m256i; 2];

/// The f16 at byte `off` of `b`, widened exactly.
#[inline(always)]
pub(crate) fn f16_at(b: &[u8], off: usize) -> f32 {
    half::f16::from_bits(u16::from_le_bytes([b[off], b[off + 1]])).to_f32()
}

/// The f16 at `p`, widened with F16C.
///
/// # Safety
/// The CPU has F16C and `p` points at two readable bytes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) unsafe fn f16_avx(p: *const u8) -> f32 {
    use std::arch::x86_64::*;
    unsafe {
        let bits = std::ptr::read_unaligned(p.cast::<u16>());
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)))
    }
}

/// The two f16 at `p` (e.g. a block's d and m), widened with one F16C conversion.
///
/// # Safety
/// The CPU has F16C and `p` points at four readable bytes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) unsafe fn f16x2_avx(p: *const u8) -> [f32; 2] {
    use std::arch::x86_64::*;
    unsafe {
        let bits = std::ptr::read_unaligned(p.cast::<u32>());
        let v = _mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32));
        [_mm_cvtss_f32(v), _mm_cvtss_f32(_mm_movehdup_ps(v))]
    }
}
