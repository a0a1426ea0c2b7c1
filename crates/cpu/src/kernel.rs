//! The dot products under every linear layer: one weight row (its GGUF blocks, never
//! dequantized to memory) against T activation rows at once, T = 1 for decode and up to
//! [`TILE`] for prefill so each decoded weight group is reused T times. Integer formats
//! dot their quants with the 16-bit activations ([`crate::act`]); float formats (F32, F16,
//! BF16) dot f32 activations. Each ISA ([`portable`], AVX2) is one generic loop over
//! [`Quant`]; the format's decoder is the only per-format part.

#[cfg(target_arch = "x86_64")]
mod avx2;
mod portable;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

use crate::act::{BlockQ16, QK};
use crate::quant::Quant;

/// Whether the SIMD kernels may run (they do where the CPU has them, unless switched off
/// for a test or a benchmark of the portable path).
static SIMD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Switches the SIMD kernels off (or back on): every op then runs the portable path.
pub fn set_simd(on: bool) {
    SIMD.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// The instruction set the kernels run with now: "avx2", "simd128" or "portable".
pub fn isa() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if simd() && avx2::available() {
        return "avx2";
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if simd() {
        return "simd128";
    }
    "portable"
}

/// True when the AVX2 kernels run (x86-64 with AVX2, FMA and F16C, SIMD not switched off).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn avx2_on() -> bool {
    simd() && avx2::available()
}

#[inline]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_feature = "simd128")),
    allow(dead_code)
)]
pub(crate) fn simd() -> bool {
    SIMD.load(std::sync::atomic::Ordering::Relaxed)
}

/// Most activation rows one call dots a weight row with.
pub const TILE: usize = 4;

/// Output rows `out`, written with a row stride, shared by the threads of one op: each
/// writes only its own columns (weight rows), so no two threads touch one element.
#[derive(Clone, Copy)]
pub struct Out {
    pub ptr: *mut f32,
    /// floats between the outputs of two consecutive activation rows
    pub stride: usize,
    /// add to what is there instead of overwriting
    pub accumulate: bool,
}
// SAFETY: threads write disjoint elements (see the type's doc) while the owner waits.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    /// Stores `v` as output `col` of activation row `t`.
    ///
    /// # Safety
    /// The element is in bounds and no other thread writes it now.
    #[inline(always)]
    pub unsafe fn put(&self, t: usize, col: usize, v: f32) {
        unsafe {
            let p = self.ptr.add(t * self.stride + col);
            *p = if self.accumulate { *p + v } else { v };
        }
    }
}

/// The activations of one op: `n` rows of `cols` floats, and the same quantized (`qx`,
/// `cols / 32` blocks per row; empty when no integer weight reads them).
#[derive(Clone, Copy)]
pub struct Input<'a> {
    pub f32: &'a [f32],
    pub qx: &'a [BlockQ16],
    pub n: usize,
    pub cols: usize,
}

/// Weight rows `rows` of a matrix in format `F` (`w` holds all its rows, `row_bytes`
/// each) times every activation row of `x`, into `out` at columns `rows`.
///
/// # Safety
/// `out` holds x.n rows of at least `rows.end` columns, and `rows` is this thread's own.
pub unsafe fn rows_int<F: Quant>(
    w: &[u8],
    row_bytes: usize,
    rows: std::ops::Range<usize>,
    x: Input,
    out: Out,
) {
    #[cfg(target_arch = "x86_64")]
    if simd() && avx2::available() {
        // SAFETY: the CPU has the features; the caller's contract is passed on
        return unsafe { avx2::rows_int::<F>(w, row_bytes, rows, x, out) };
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if simd() {
        return unsafe { simd128::rows_int::<F>(w, row_bytes, rows, x, out) };
    }
    unsafe { portable::rows_int::<F>(w, row_bytes, rows, x, out) }
}

/// Like [`rows_int`] for a float format `ty` (F32, F16 or BF16) against f32 activations.
///
/// # Safety
/// As [`rows_int`].
pub unsafe fn rows_float(
    ty: hearth_gguf::GgmlType,
    w: &[u8],
    row_bytes: usize,
    rows: std::ops::Range<usize>,
    x: Input,
    out: Out,
) {
    #[cfg(target_arch = "x86_64")]
    if simd() && avx2::available() {
        return unsafe { avx2::rows_float(ty, w, row_bytes, rows, x, out) };
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if simd() {
        return unsafe { simd128::rows_float(ty, w, row_bytes, rows, x, out) };
    }
    unsafe { portable::rows_float(ty, w, row_bytes, rows, x, out) }
}

/// One instruction set's integer dot: a weight row of format `F` against T activation rows.
pub(crate) trait IntDot {
    /// # Safety
    /// The CPU has the instruction set's features.
    unsafe fn dot<F: Quant, const T: usize>(row: &[u8], xs: [&[BlockQ16]; T]) -> [f32; T];
}

/// [`rows_int`]'s loop for the ISA `D`: the activation rows of `x` in tiles of [`TILE`].
///
/// # Safety
/// As [`rows_int`], and the CPU has `D`'s features.
#[inline(always)]
pub(crate) unsafe fn drive_int<D: IntDot, F: Quant>(
    w: &[u8],
    row_bytes: usize,
    rows: std::ops::Range<usize>,
    x: Input,
    out: Out,
) {
    // no closure around `D::dot`: a closure would not inherit the caller's target
    // features, and the ISA's intrinsics would not inline into it
    let per_row = x.cols / QK;
    let xrow = |t: usize| &x.qx[t * per_row..(t + 1) * per_row];
    for r in rows {
        let row = &w[r * row_bytes..(r + 1) * row_bytes];
        let mut t = 0;
        while t + TILE <= x.n {
            let v = unsafe { D::dot::<F, TILE>(row, std::array::from_fn(|k| xrow(t + k))) };
            for (k, &v) in v.iter().enumerate() {
                // SAFETY: the callers' contract: row r of these outputs is this thread's
                unsafe { out.put(t + k, r, v) };
            }
            t += TILE;
        }
        while t < x.n {
            let v = unsafe { D::dot::<F, 1>(row, [xrow(t)])[0] };
            unsafe { out.put(t, r, v) };
            t += 1;
        }
    }
}

/// The loop shared by every ISA: each weight row against the activation rows in tiles of
/// [`TILE`] (then one by one), `dot` giving the T sums of one tile.
#[inline(always)]
pub(crate) fn drive(
    w: &[u8],
    row_bytes: usize,
    rows: std::ops::Range<usize>,
    n: usize,
    out: Out,
    mut dot_tile: impl FnMut(&[u8], usize) -> [f32; TILE],
    mut dot_one: impl FnMut(&[u8], usize) -> f32,
) {
    for r in rows {
        let row = &w[r * row_bytes..(r + 1) * row_bytes];
        let mut t = 0;
        while t + TILE <= n {
            let v = dot_tile(row, t);
            for (k, &v) in v.iter().enumerate() {
                // SAFETY: the callers' contract: row r of these outputs is this thread's
                unsafe { out.put(t + k, r, v) };
            }
            t += TILE;
        }
        while t < n {
            let v = dot_one(row, t);
            unsafe { out.put(t, r, v) };
            t += 1;
        }
    }
}
