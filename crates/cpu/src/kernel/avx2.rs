//! The x86-64 kernels (AVX2, FMA, F16C; chosen at run time): the group's quants as 32
//! bytes in a register, widened to 16 bits and `madd`-ed with the 16-bit activations.

use std::arch::x86_64::*;

use super::{Input, Out, TILE, drive};
use crate::act::BlockQ16;
use crate::quant::Quant;

/// True when this CPU runs these kernels (checked once, then cached by std).
#[inline]
pub fn available() -> bool {
    is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c")
}

#[inline(always)]
unsafe fn hsum(v: __m256) -> f32 {
    unsafe {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }
}

/// The AVX2 twin of [`super::portable::dot`]: the group's 32 quants widened to two
/// vectors of 16-bit lanes (one per half), `madd` with the 16-bit activations into eight
/// i32 per half (each the sum of two products, exact), converted and scaled with FMA.
#[inline(always)]
unsafe fn dot<F: Quant, const T: usize>(row: &[u8], xs: [&[BlockQ16]; T]) -> [f32; T] {
    unsafe {
        let mut acc = [_mm256_setzero_ps(); T];
        let mut macc = [0f32; T];
        let nb = row.len() / F::BYTES;
        for b in 0..nb {
            let blk = row.get_unchecked(b * F::BYTES..(b + 1) * F::BYTES);
            for g in 0..F::GROUPS {
                let ([w0, w1], c) = F::halves_avx2(blk, g);
                for t in 0..T {
                    let x = xs[t].get_unchecked(b * F::GROUPS + g);
                    let xp = x.qs.as_ptr().cast::<__m256i>();
                    let p0 = _mm256_madd_epi16(w0, _mm256_load_si256(xp));
                    let p1 = _mm256_madd_epi16(w1, _mm256_load_si256(xp.add(1)));
                    if F::SPLIT {
                        let a = _mm256_fmadd_ps(
                            _mm256_cvtepi32_ps(p0),
                            _mm256_set1_ps(c.d[0] * x.d),
                            acc[t],
                        );
                        acc[t] = _mm256_fmadd_ps(
                            _mm256_cvtepi32_ps(p1),
                            _mm256_set1_ps(c.d[1] * x.d),
                            a,
                        );
                    } else {
                        // |sum| ≤ 4 · 128 · 32767 < 2^24: exact in the f32 conversion
                        let p = _mm256_add_epi32(p0, p1);
                        acc[t] = _mm256_fmadd_ps(
                            _mm256_cvtepi32_ps(p),
                            _mm256_set1_ps(c.d[0] * x.d),
                            acc[t],
                        );
                    }
                    macc[t] += if F::SPLIT {
                        c.m[0] * x.s[0] + c.m[1] * x.s[1]
                    } else {
                        c.m[0] * (x.s[0] + x.s[1])
                    };
                }
            }
        }
        std::array::from_fn(|t| hsum(acc[t]) - macc[t])
    }
}

/// The avx2 kernels' [`super::IntDot`].
pub struct Avx2;

impl super::IntDot for Avx2 {
    #[inline(always)]
    unsafe fn dot<F: Quant, const T: usize>(row: &[u8], xs: [&[BlockQ16]; T]) -> [f32; T] {
        unsafe { dot::<F, T>(row, xs) }
    }
}

/// [`super::rows_int`] with avx2.
///
/// # Safety
/// As [`super::rows_int`]; the CPU has AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn rows_int<F: Quant>(
    w: &[u8],
    row_bytes: usize,
    rows: std::ops::Range<usize>,
    x: Input,
    out: Out,
) {
    unsafe { super::drive_int::<Avx2, F>(w, row_bytes, rows, x, out) }
}

/// Eight weights of float format `ty` from `p` as f32.
#[inline(always)]
unsafe fn load8(ty: hearth_gguf::GgmlType, p: *const u8) -> __m256 {
    use hearth_gguf::GgmlType;
    unsafe {
        match ty {
            GgmlType::F32 => _mm256_loadu_ps(p.cast()),
            GgmlType::F16 => _mm256_cvtph_ps(_mm_loadu_si128(p.cast())),
            _ => _mm256_castsi256_ps(_mm256_slli_epi32(
                _mm256_cvtepu16_epi32(_mm_loadu_si128(p.cast())),
                16,
            )),
        }
    }
}

/// One weight row of float format `ty` dotted with T activation rows.
#[inline(always)]
unsafe fn dot_float<const T: usize>(
    ty: hearth_gguf::GgmlType,
    row: &[u8],
    xs: [&[f32]; T],
) -> [f32; T] {
    unsafe {
        let n = xs[0].len();
        let width = row.len() / n.max(1);
        let mut acc = [_mm256_setzero_ps(); T];
        let mut i = 0;
        while i + 8 <= n {
            let wv = load8(ty, row.as_ptr().add(i * width));
            for t in 0..T {
                acc[t] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xs[t].as_ptr().add(i)), acc[t]);
            }
            i += 8;
        }
        std::array::from_fn(|t| {
            let mut s = hsum(acc[t]);
            for (j, &x) in xs[t].iter().enumerate().skip(i) {
                s += super::portable::float_at(ty, row, j) * x;
            }
            s
        })
    }
}

/// [`super::rows_float`] with AVX2.
///
/// # Safety
/// The CPU has AVX2, FMA and F16C; otherwise as [`super::rows_int`].
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn rows_float(
    ty: hearth_gguf::GgmlType,
    w: &[u8],
    row_bytes: usize,
    rows: std::ops::Range<usize>,
    x: Input,
    out: Out,
) {
    let xrow = |t: usize| &x.f32[t * x.cols..(t + 1) * x.cols];
    drive(
        w,
        row_bytes,
        rows,
        x.n,
        out,
        |row, t| unsafe { dot_float::<TILE>(ty, row, std::array::from_fn(|k| xrow(t + k))) },
        |row, t| unsafe { dot_float::<1>(ty, row, [xrow(t)])[0] },
    );
}
