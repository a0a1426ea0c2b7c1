//! The wasm32 kernels (`simd128`, compiled in when the build enables it, as
//! `scripts/build-web` does): the group's quants widened to 16-bit lanes and dotted with
//! the 16-bit activations by `i32x4.dot_i16x8_s`, scaled in f32.

use std::arch::wasm32::*;

use super::{Input, Out};
use crate::act::BlockQ16;
use crate::quant::Quant;

#[inline(always)]
fn hsum(v: v128) -> f32 {
    f32x4_extract_lane::<0>(v)
        + f32x4_extract_lane::<1>(v)
        + f32x4_extract_lane::<2>(v)
        + f32x4_extract_lane::<3>(v)
}

/// The simd128 twin of [`super::portable::dot`].
#[inline(always)]
fn dot<F: Quant, const T: usize>(row: &[u8], xs: [&[BlockQ16]; T]) -> [f32; T] {
    let mut acc = [f32x4_splat(0.0); T];
    let mut macc = [0f32; T];
    for (b, blk) in row.chunks_exact(F::BYTES).enumerate() {
        for g in 0..F::GROUPS {
            let (w, c) = F::quarters_simd128(blk, g);
            for t in 0..T {
                let x = &xs[t][b * F::GROUPS + g];
                let xp = x.qs.as_ptr().cast::<v128>();
                // SAFETY: qs holds 32 i16 = four v128
                let xv = unsafe { [*xp, *xp.add(1), *xp.add(2), *xp.add(3)] };
                let p0 = i32x4_add(i32x4_dot_i16x8(w[0], xv[0]), i32x4_dot_i16x8(w[1], xv[1]));
                let p1 = i32x4_add(i32x4_dot_i16x8(w[2], xv[2]), i32x4_dot_i16x8(w[3], xv[3]));
                if F::SPLIT {
                    let a = f32x4_mul(f32x4_convert_i32x4(p0), f32x4_splat(c.d[0] * x.d));
                    let b = f32x4_mul(f32x4_convert_i32x4(p1), f32x4_splat(c.d[1] * x.d));
                    acc[t] = f32x4_add(acc[t], f32x4_add(a, b));
                    macc[t] += c.m[0] * x.s[0] + c.m[1] * x.s[1];
                } else {
                    let p = f32x4_convert_i32x4(i32x4_add(p0, p1));
                    acc[t] = f32x4_add(acc[t], f32x4_mul(p, f32x4_splat(c.d[0] * x.d)));
                    macc[t] += c.m[0] * (x.s[0] + x.s[1]);
                }
            }
        }
    }
    std::array::from_fn(|t| hsum(acc[t]) - macc[t])
}

/// The simd128 kernels' [`super::IntDot`].
pub struct Simd128;

impl super::IntDot for Simd128 {
    #[inline(always)]
    unsafe fn dot<F: Quant, const T: usize>(row: &[u8], xs: [&[BlockQ16]; T]) -> [f32; T] {
        dot::<F, T>(row, xs)
    }
}

/// [`super::rows_int`] with simd128.
///
/// # Safety
/// As [`super::rows_int`].
pub unsafe fn rows_int<F: Quant>(
    w: &[u8],
    row_bytes: usize,
    rows: std::ops::Range<usize>,
    x: Input,
    out: Out,
) {
    unsafe { super::drive_int::<Simd128, F>(w, row_bytes, rows, x, out) }
}
