//! The 32-weight formats Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0: one group per block. Byte
//! `qs[j]` holds weight j in its low nibble and weight j + 16 in its high one; the 5th bit
//! of weight i is bit i of the little-endian u32 `qh` (`docs/gguf.md` §2.2).

use super::{Coef, GROUP, Quant, f16_at};

/// Q4_0: d (f16), 16 nibble bytes; w = d · (n − 8).
pub struct Q4_0;
/// Q4_1: d, m (f16), 16 nibble bytes; w = d · n + m.
pub struct Q4_1;
/// Q5_0: d (f16), qh (u32), 16 nibble bytes; w = d · (n5 − 16).
pub struct Q5_0;
/// Q5_1: d, m (f16), qh (u32), 16 nibble bytes; w = d · n5 + m.
pub struct Q5_1;
/// Q8_0: d (f16), 32 i8; w = d · q.
pub struct Q8_0;

#[inline(always)]
fn nibbles(qs: &[u8], q: &mut [u8; GROUP]) {
    let (lo, hi) = q.split_at_mut(16);
    for ((&b, l), h) in qs[..16].iter().zip(lo).zip(hi) {
        *l = b & 0xF;
        *h = b >> 4;
    }
}

#[inline(always)]
fn fifth_bits(qh: u32, q: &mut [u8; GROUP]) {
    for (i, v) in q.iter_mut().enumerate() {
        *v |= (((qh >> i) & 1) << 4) as u8;
    }
}

#[inline(always)]
fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use crate::quant::Halves;

    /// 16 nibble bytes at `p` → weights 0..16 (low nibbles) and 16..32 (high), as i16.
    #[inline(always)]
    pub unsafe fn nibbles(p: *const u8) -> Halves {
        unsafe {
            let v = _mm256_cvtepu8_epi16(_mm_loadu_si128(p.cast()));
            [
                _mm256_and_si256(v, _mm256_set1_epi16(0xF)),
                _mm256_srli_epi16(v, 4),
            ]
        }
    }

    /// Adds the 5th bits: bit i of `qh` is 16 on weight i.
    #[inline(always)]
    pub unsafe fn fifth_bits(h: Halves, qh: u32) -> Halves {
        unsafe {
            let bit = _mm256_setr_epi16(
                1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, -32768,
            );
            let spread = |bits: u32| {
                let v = _mm256_and_si256(_mm256_set1_epi16(bits as u16 as i16), bit);
                _mm256_and_si256(_mm256_cmpeq_epi16(v, bit), _mm256_set1_epi16(16))
            };
            [
                _mm256_or_si256(h[0], spread(qh)),
                _mm256_or_si256(h[1], spread(qh >> 16)),
            ]
        }
    }
}

/// 16 nibble bytes at `b[at..]` → the group's quarters (low nibbles, then high).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn nibbles128(b: &[u8], at: usize) -> crate::quant::Quarters {
    use std::arch::wasm32::*;
    // SAFETY: the slice is 16 bytes (checked by the indexing)
    let v = unsafe { v128_load(b[at..at + 16].as_ptr().cast()) };
    crate::quant::widen128(v128_and(v, u8x16_splat(0xF)), u8x16_shr(v, 4), false)
}

/// Adds the 5th bits to a group's quarters: bit i of `qh` is 16 on weight i.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn fifth_bits128(q: crate::quant::Quarters, qh: u32) -> crate::quant::Quarters {
    use std::arch::wasm32::*;
    let bit = u16x8(1, 2, 4, 8, 16, 32, 64, 128);
    let spread = |bits: u32| {
        let v = v128_and(u16x8_splat((bits & 0xFF) as u16), bit);
        v128_and(i16x8_eq(v, bit), u16x8_splat(16))
    };
    [0, 1, 2, 3].map(|k| v128_or(q[k], spread(qh >> (8 * k))))
}

impl Quant for Q4_0 {
    const BYTES: usize = 18;
    const GROUPS: usize = 1;
    #[inline(always)]
    fn group(b: &[u8], _: usize, q: &mut [u8; GROUP]) -> Coef {
        nibbles(&b[2..], q);
        let d = f16_at(b, 0);
        Coef::uniform(d, 8.0 * d)
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn quarters_simd128(b: &[u8], _: usize) -> (crate::quant::Quarters, Coef) {
        let d = f16_at(b, 0);
        (nibbles128(b, 2), Coef::uniform(d, 8.0 * d))
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn halves_avx2(b: &[u8], _: usize) -> (crate::quant::Halves, Coef) {
        unsafe {
            let d = super::f16_avx(b.as_ptr());
            (avx2::nibbles(b.as_ptr().add(2)), Coef::uniform(d, 8.0 * d))
        }
    }
}

impl Quant for Q4_1 {
    const BYTES: usize = 20;
    const GROUPS: usize = 1;
    #[inline(always)]
    fn group(b: &[u8], _: usize, q: &mut [u8; GROUP]) -> Coef {
        nibbles(&b[4..], q);
        Coef::uniform(f16_at(b, 0), -f16_at(b, 2))
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn quarters_simd128(b: &[u8], _: usize) -> (crate::quant::Quarters, Coef) {
        (nibbles128(b, 4), Coef::uniform(f16_at(b, 0), -f16_at(b, 2)))
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn halves_avx2(b: &[u8], _: usize) -> (crate::quant::Halves, Coef) {
        unsafe {
            let p = b.as_ptr();
            let [d, m] = super::f16x2_avx(p);
            (avx2::nibbles(p.add(4)), Coef::uniform(d, -m))
        }
    }
}

impl Quant for Q5_0 {
    const BYTES: usize = 22;
    const GROUPS: usize = 1;
    #[inline(always)]
    fn group(b: &[u8], _: usize, q: &mut [u8; GROUP]) -> Coef {
        nibbles(&b[6..], q);
        fifth_bits(u32_at(b, 2), q);
        let d = f16_at(b, 0);
        Coef::uniform(d, 16.0 * d)
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn quarters_simd128(b: &[u8], _: usize) -> (crate::quant::Quarters, Coef) {
        let d = f16_at(b, 0);
        let q = fifth_bits128(nibbles128(b, 6), u32_at(b, 2));
        (q, Coef::uniform(d, 16.0 * d))
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn halves_avx2(b: &[u8], _: usize) -> (crate::quant::Halves, Coef) {
        unsafe {
            let p = b.as_ptr();
            let d = super::f16_avx(p);
            let h = avx2::fifth_bits(avx2::nibbles(p.add(6)), u32_at(b, 2));
            (h, Coef::uniform(d, 16.0 * d))
        }
    }
}

impl Quant for Q5_1 {
    const BYTES: usize = 24;
    const GROUPS: usize = 1;
    #[inline(always)]
    fn group(b: &[u8], _: usize, q: &mut [u8; GROUP]) -> Coef {
        nibbles(&b[8..], q);
        fifth_bits(u32_at(b, 4), q);
        Coef::uniform(f16_at(b, 0), -f16_at(b, 2))
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn quarters_simd128(b: &[u8], _: usize) -> (crate::quant::Quarters, Coef) {
        let q = fifth_bits128(nibbles128(b, 8), u32_at(b, 4));
        (q, Coef::uniform(f16_at(b, 0), -f16_at(b, 2)))
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn halves_avx2(b: &[u8], _: usize) -> (crate::quant::Halves, Coef) {
        unsafe {
            let p = b.as_ptr();
            let [d, m] = super::f16x2_avx(p);
            (
                avx2::fifth_bits(avx2::nibbles(p.add(8)), u32_at(b, 4)),
                Coef::uniform(d, -m),
            )
        }
    }
}

impl Quant for Q8_0 {
    const BYTES: usize = 34;
    const GROUPS: usize = 1;
    const SIGNED: bool = true;
    #[inline(always)]
    fn group(b: &[u8], _: usize, q: &mut [u8; GROUP]) -> Coef {
        q.copy_from_slice(&b[2..34]);
        Coef::uniform(f16_at(b, 0), 0.0)
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn quarters_simd128(b: &[u8], _: usize) -> (crate::quant::Quarters, Coef) {
        use std::arch::wasm32::*;
        let q = &b[2..34];
        // SAFETY: q is 32 bytes
        let (lo, hi) = unsafe {
            (
                v128_load(q.as_ptr().cast()),
                v128_load(q.as_ptr().add(16).cast()),
            )
        };
        (
            crate::quant::widen128(lo, hi, true),
            Coef::uniform(f16_at(b, 0), 0.0),
        )
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn halves_avx2(b: &[u8], _: usize) -> (crate::quant::Halves, Coef) {
        use std::arch::x86_64::*;
        unsafe {
            let p = b.as_ptr();
            let h = [
                _mm256_cvtepi8_epi16(_mm_loadu_si128(p.add(2).cast())),
                _mm256_cvtepi8_epi16(_mm_loadu_si128(p.add(18).cast())),
            ];
            (h, Coef::uniform(super::f16_avx(p), 0.0))
        }
    }
}
