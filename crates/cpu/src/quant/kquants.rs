//! The K-quant super-blocks of 256 weights (eight groups of 32): Q4_K and Q5_K with a
//! 6-bit scale and min per group, Q6_K, Q3_K and Q2_K with a scale per 16 weights
//! (`docs/gguf.md` §2.3).

use super::{Coef, GROUP, Quant, f16_at};

/// Q4_K: d, dmin (f16), 12 bytes of scales/mins, 128 nibble bytes.
pub struct Q4K;
/// Q5_K: as Q4_K plus 32 bytes of 5th bits.
pub struct Q5K;
/// Q6_K: 128 bytes low nibbles, 64 bytes high 2 bits, 16 i8 scales, d (f16).
pub struct Q6K;
/// Q3_K: 32 bytes high bits, 64 bytes 2-bit quants, 12 bytes of 6-bit scales, d (f16).
pub struct Q3K;
/// Q2_K: 16 scale/min bytes, 64 bytes 2-bit quants, d, dmin (f16).
pub struct Q2K;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Sixteen bytes at `p` as i16 lanes, shifted right by `shift` and masked.
    #[inline(always)]
    pub unsafe fn bits(p: *const u8, shift: usize, mask: i16) -> __m256i {
        unsafe {
            let v = _mm256_cvtepu8_epi16(_mm_loadu_si128(p.cast()));
            let v = _mm256_srl_epi16(v, _mm_cvtsi32_si128(shift as i32));
            _mm256_and_si256(v, _mm256_set1_epi16(mask))
        }
    }
}

/// Sixteen bytes of `b` from `at`, shifted right by `shift` and masked, as a wasm vector.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn bits128(b: &[u8], at: usize, shift: u32, mask: u8) -> std::arch::wasm32::v128 {
    use std::arch::wasm32::*;
    // SAFETY: the slice is 16 bytes (checked by the indexing)
    let v = unsafe { v128_load(b[at..at + 16].as_ptr().cast()) };
    v128_and(u8x16_shr(v, shift), u8x16_splat(mask))
}

/// Q4_K / Q5_K coefficients of group g: d · sc and dmin · m.
#[inline(always)]
fn k4_coef(d: f32, dmin: f32, scales: &[u8], g: usize) -> Coef {
    let (sc, m) = hearth_gguf::k4_scale_min(scales, g);
    Coef::uniform(d * f32::from(sc), dmin * f32::from(m))
}

impl Quant for Q4K {
    const BYTES: usize = 144;
    const GROUPS: usize = 8;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn quarters_simd128(b: &[u8], g: usize) -> (crate::quant::Quarters, Coef) {
        Q4K::quarters(b, g)
    }
    #[inline(always)]
    fn group(b: &[u8], g: usize, q: &mut [u8; GROUP]) -> Coef {
        let shift = 4 * (g % 2);
        for (v, &x) in q.iter_mut().zip(&b[16 + 32 * (g / 2)..]) {
            *v = (x >> shift) & 0xF;
        }
        k4_coef(f16_at(b, 0), f16_at(b, 2), &b[4..16], g)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn halves_avx2(b: &[u8], g: usize) -> (crate::quant::Halves, Coef) {
        unsafe {
            let p = b.as_ptr();
            let q = p.add(16 + 32 * (g / 2));
            let h = [
                avx2::bits(q, 4 * (g % 2), 0xF),
                avx2::bits(q.add(16), 4 * (g % 2), 0xF),
            ];
            let c = k4_coef(super::f16_avx(p), super::f16_avx(p.add(2)), &b[4..16], g);
            (h, c)
        }
    }
}

impl Q4K {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn quarters(b: &[u8], g: usize) -> (crate::quant::Quarters, Coef) {
        let (at, shift) = (16 + 32 * (g / 2), 4 * (g % 2) as u32);
        let q = crate::quant::widen128(
            bits128(b, at, shift, 0xF),
            bits128(b, at + 16, shift, 0xF),
            false,
        );
        (q, k4_coef(f16_at(b, 0), f16_at(b, 2), &b[4..16], g))
    }
}

impl Quant for Q5K {
    const BYTES: usize = 176;
    const GROUPS: usize = 8;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn quarters_simd128(b: &[u8], g: usize) -> (crate::quant::Quarters, Coef) {
        use std::arch::wasm32::*;
        let (at, shift) = (48 + 32 * (g / 2), 4 * (g % 2) as u32);
        // the low four bits from qs, the fifth (bit g of qh's bytes) shifted to bit 4
        let half = |k: usize| {
            let lo = bits128(b, at + 16 * k, shift, 0xF);
            let hi = bits128(b, 16 + 16 * k, g as u32, 1);
            v128_or(lo, u8x16_shl(hi, 4))
        };
        let q = crate::quant::widen128(half(0), half(1), false);
        (q, k4_coef(f16_at(b, 0), f16_at(b, 2), &b[4..16], g))
    }
    #[inline(always)]
    fn group(b: &[u8], g: usize, q: &mut [u8; GROUP]) -> Coef {
        let shift = 4 * (g % 2);
        let qs = &b[48 + 32 * (g / 2)..];
        for ((v, &x), &h) in q.iter_mut().zip(qs).zip(&b[16..48]) {
            *v = ((x >> shift) & 0xF) | ((h >> g) & 1) << 4;
        }
        k4_coef(f16_at(b, 0), f16_at(b, 2), &b[4..16], g)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn halves_avx2(b: &[u8], g: usize) -> (crate::quant::Halves, Coef) {
        use std::arch::x86_64::*;
        unsafe {
            let p = b.as_ptr();
            let q = p.add(48 + 32 * (g / 2));
            let half = |k: usize| {
                let lo = avx2::bits(q.add(16 * k), 4 * (g % 2), 0xF);
                let hi = avx2::bits(p.add(16 + 16 * k), g, 1);
                _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4))
            };
            let c = k4_coef(super::f16_avx(p), super::f16_avx(p.add(2)), &b[4..16], g);
            ([half(0), half(1)], c)
        }
    }
}

/// Q6_K coefficients of group g: sub-blocks 2g and 2g + 1, w = d · sc · (q − 32).
#[inline(always)]
fn q6_coef(d: f32, b: &[u8], g: usize) -> Coef {
    let sc = |k: usize| d * f32::from(b[192 + k] as i8);
    let (d0, d1) = (sc(2 * g), sc(2 * g + 1));
    Coef {
        d: [d0, d1],
        m: [32.0 * d0, 32.0 * d1],
    }
}

impl Q6K {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn quarters(b: &[u8], g: usize) -> (crate::quant::Quarters, Coef) {
        use std::arch::wasm32::*;
        let (h, j) = (g / 4, g % 4);
        let half = |k: usize| {
            let lo = bits128(b, 64 * h + 32 * (j % 2) + 16 * k, 4 * (j / 2) as u32, 0xF);
            let hi = bits128(b, 128 + 32 * h + 16 * k, 2 * j as u32, 3);
            v128_or(lo, u8x16_shl(hi, 4))
        };
        let q = crate::quant::widen128(half(0), half(1), false);
        (q, q6_coef(f16_at(b, 208), b, g))
    }
}

impl Quant for Q6K {
    const BYTES: usize = 210;
    const GROUPS: usize = 8;
    const SPLIT: bool = true;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn quarters_simd128(b: &[u8], g: usize) -> (crate::quant::Quarters, Coef) {
        Q6K::quarters(b, g)
    }
    #[inline(always)]
    fn group(b: &[u8], g: usize, q: &mut [u8; GROUP]) -> Coef {
        // group g = 4h + j: low nibble j/2 of ql[64h + 32(j % 2) + l], high bits 2j of qh[32h + l]
        let (h, j) = (g / 4, g % 4);
        let ql = &b[64 * h + 32 * (j % 2)..][..32];
        let qh = &b[128 + 32 * h..][..32];
        let (ls, hs) = (4 * (j / 2), 2 * j);
        for ((v, &lo), &hi) in q.iter_mut().zip(ql).zip(qh) {
            *v = ((lo >> ls) & 0xF) | ((hi >> hs) & 3) << 4;
        }
        q6_coef(f16_at(b, 208), b, g)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn halves_avx2(b: &[u8], g: usize) -> (crate::quant::Halves, Coef) {
        use std::arch::x86_64::*;
        unsafe {
            let p = b.as_ptr();
            let (h, j) = (g / 4, g % 4);
            let half = |k: usize| {
                let lo = avx2::bits(p.add(64 * h + 32 * (j % 2) + 16 * k), 4 * (j / 2), 0xF);
                let hi = avx2::bits(p.add(128 + 32 * h + 16 * k), 2 * j, 3);
                _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4))
            };
            (
                [half(0), half(1)],
                q6_coef(super::f16_avx(p.add(208)), b, g),
            )
        }
    }
}

/// Where the 16 weights of sub-block k of a 2-bit-plane layout (Q2_K, Q3_K) live: quant
/// bytes from `qs[start]`, bits at `shift`, and l0 = the first weight's index mod 32.
#[inline(always)]
fn plane16(k: usize) -> (usize, u32, usize) {
    let (h, j, l0) = (k / 8, (k % 8) / 2, 16 * (k % 2));
    (32 * h + l0, 2 * j as u32, l0)
}

impl Quant for Q3K {
    const BYTES: usize = 110;
    const GROUPS: usize = 8;
    const SPLIT: bool = true;
    fn group(b: &[u8], g: usize, q: &mut [u8; GROUP]) -> Coef {
        // u = low2 + 4 · hbit ∈ [0, 7]; w = d · (S − 32) · (u − 4)
        let d = f16_at(b, 108);
        let (hmask, qs, sb) = (&b[0..32], &b[32..96], &b[96..108]);
        let mut c = Coef::default();
        for half in 0..2 {
            let k = 2 * g + half;
            let low = if k < 8 { sb[k] & 0xF } else { sb[k - 8] >> 4 };
            let high = (sb[8 + k % 4] >> (2 * (k / 4))) & 3;
            let dk = d * f32::from((low | high << 4) as i8 - 32);
            c.d[half] = dk;
            c.m[half] = 4.0 * dk;
            let (start, shift, l0) = plane16(k);
            let hbit = k / 2;
            for i in 0..16 {
                let low2 = (qs[start + i] >> shift) & 3;
                let hb = (hmask[l0 + i] >> hbit) & 1;
                q[16 * half + i] = low2 + 4 * hb;
            }
        }
        c
    }
}

impl Quant for Q2K {
    const BYTES: usize = 84;
    const GROUPS: usize = 8;
    const SPLIT: bool = true;
    fn group(b: &[u8], g: usize, q: &mut [u8; GROUP]) -> Coef {
        // w = d · (sc & 15) · q − dmin · (sc >> 4)
        let (d, dmin) = (f16_at(b, 80), f16_at(b, 82));
        let (scales, qs) = (&b[0..16], &b[16..80]);
        let mut c = Coef::default();
        for half in 0..2 {
            let k = 2 * g + half;
            c.d[half] = d * f32::from(scales[k] & 0xF);
            c.m[half] = dmin * f32::from(scales[k] >> 4);
            let (start, shift, _) = plane16(k);
            for i in 0..16 {
                q[16 * half + i] = (qs[start + i] >> shift) & 3;
            }
        }
        c
    }
}
