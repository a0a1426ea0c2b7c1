//! The wasm32 kernels (`simd128`, compiled in when the build enables it, as
//! `scripts/build-web` does): the group's quants widened to 16-bit lanes and dotted with
//! the 16-bit activations by `i32x4.dot_i16x8_s`, scaled in f32; float rows (F32, F16,
//! BF16) widened to f32 four at a time.

use std::arch::wasm32::*;

use super::{Input, Out, TILE, drive};
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

/// Four weights of float format `ty` at `p` as f32 lanes. F16 by bits: the magnitude
/// shifted into an f32 and scaled by 2^112 (exact for normals and subnormals, wasm keeps
/// denormals), the all-ones exponent (Inf, NaN) set apart, the sign put back.
///
/// # Safety
/// `p` holds four values of `ty`.
#[inline(always)]
unsafe fn load4(ty: hearth_gguf::GgmlType, p: *const u8) -> v128 {
    use hearth_gguf::GgmlType;
    unsafe {
        match ty {
            GgmlType::F32 => v128_load(p.cast()),
            GgmlType::F16 => {
                let h = u32x4_extend_low_u16x8(v128_load64_zero(p.cast()));
                let mag = v128_and(h, u32x4_splat(0x7FFF));
                let f = f32x4_mul(u32x4_shl(mag, 13), f32x4_splat(f32::from_bits(0x7780_0000)));
                let special = u32x4_eq(v128_and(h, u32x4_splat(0x7C00)), u32x4_splat(0x7C00));
                let f = v128_or(f, v128_and(special, u32x4_splat(0x7F80_0000)));
                v128_or(f, u32x4_shl(v128_and(h, u32x4_splat(0x8000)), 16))
            }
            _ => u32x4_shl(u32x4_extend_low_u16x8(v128_load64_zero(p.cast())), 16),
        }
    }
}

/// One weight row of float format `ty` dotted with T activation rows.
#[inline(always)]
fn dot_float<const T: usize>(ty: hearth_gguf::GgmlType, row: &[u8], xs: [&[f32]; T]) -> [f32; T] {
    let n = xs[0].len();
    let width = row.len() / n.max(1);
    let mut acc = [f32x4_splat(0.0); T];
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: the row holds n values of `width` bytes, each x row n floats
        let wv = unsafe { load4(ty, row.as_ptr().add(i * width)) };
        for t in 0..T {
            let xv = unsafe { v128_load(xs[t].as_ptr().add(i).cast()) };
            acc[t] = f32x4_add(acc[t], f32x4_mul(wv, xv));
        }
        i += 4;
    }
    std::array::from_fn(|t| {
        let mut s = hsum(acc[t]);
        for (j, &x) in xs[t].iter().enumerate().skip(i) {
            s += super::portable::float_at(ty, row, j) * x;
        }
        s
    })
}

/// [`super::rows_float`] with simd128.
///
/// # Safety
/// As [`super::rows_int`].
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
        |row, t| dot_float::<TILE>(ty, row, std::array::from_fn(|k| xrow(t + k))),
        |row, t| dot_float::<1>(ty, row, [xrow(t)])[0],
    );
}
