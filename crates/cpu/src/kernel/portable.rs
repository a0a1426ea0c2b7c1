//! The portable kernels: plain Rust over the format's group decoder, for any CPU (and the
//! reference the SIMD kernels are tested against).

use super::{Input, Out, drive};
use crate::act::BlockQ16;
use crate::quant::{GROUP, Quant};

/// Σ over the groups of `row` of d[h] · dx · Σ q·qx (16-bit activations) − m[h] · sx[h], for T activation rows.
#[inline(always)]
pub fn dot<F: Quant, const T: usize>(row: &[u8], xs: [&[BlockQ16]; T]) -> [f32; T] {
    let mut acc = [0f32; T];
    let mut q = [0u8; GROUP];
    for (b, blk) in row.chunks_exact(F::BYTES).enumerate() {
        for g in 0..F::GROUPS {
            let c = F::group(blk, g, &mut q);
            for (a, x) in acc.iter_mut().zip(xs) {
                let x = &x[b * F::GROUPS + g];
                let mut s = [0i32; 2];
                for (h, sh) in s.iter_mut().enumerate() {
                    for (&w, &v) in q[16 * h..16 * h + 16].iter().zip(&x.qs[16 * h..]) {
                        let w = if F::SIGNED { w as i8 as i32 } else { w as i32 };
                        *sh += w * v as i32;
                    }
                }
                *a += x.d * (c.d[0] * s[0] as f32 + c.d[1] * s[1] as f32)
                    - (c.m[0] * x.s[0] + c.m[1] * x.s[1]);
            }
        }
    }
    acc
}

/// The portable kernels' [`super::IntDot`].
pub struct Portable;

impl super::IntDot for Portable {
    #[inline(always)]
    unsafe fn dot<F: Quant, const T: usize>(row: &[u8], xs: [&[BlockQ16]; T]) -> [f32; T] {
        dot::<F, T>(row, xs)
    }
}

/// [`super::rows_int`] in plain Rust.
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
    unsafe { super::drive_int::<Portable, F>(w, row_bytes, rows, x, out) }
}

/// Weight `i` of a row of float format `ty` (F32, F16, else BF16).
#[inline(always)]
pub fn float_at(ty: hearth_gguf::GgmlType, row: &[u8], i: usize) -> f32 {
    use hearth_gguf::GgmlType;
    match ty {
        GgmlType::F32 => {
            f32::from_le_bytes([row[4 * i], row[4 * i + 1], row[4 * i + 2], row[4 * i + 3]])
        }
        GgmlType::F16 => {
            half::f16::from_bits(u16::from_le_bytes([row[2 * i], row[2 * i + 1]])).to_f32()
        }
        _ => f32::from_bits(u32::from(u16::from_le_bytes([row[2 * i], row[2 * i + 1]])) << 16),
    }
}

/// One weight row of float format `ty` dotted with `x`.
pub fn dot_float(ty: hearth_gguf::GgmlType, row: &[u8], x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    for (i, &v) in x.iter().enumerate() {
        acc[i % 8] += float_at(ty, row, i) * v;
    }
    acc.iter().sum()
}

/// [`super::rows_float`] in plain Rust.
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
        |row, t| std::array::from_fn(|k| dot_float(ty, row, xrow(t + k))),
        |row, t| dot_float(ty, row, xrow(t)),
    );
}
