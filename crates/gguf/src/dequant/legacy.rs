//! The 32-weight block formats Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 (`docs/gguf.md` §2.2).
//!
//! Nibble rule shared by the 4- and 5-bit formats: byte `qs[j]` (j = 0..15) holds weight j in
//! its low nibble and weight j + 16 in its high nibble. The 5th bit of weight i is bit i of the
//! little-endian u32 `qh`.

use super::f16_at;

/// Weights per block.
const QK: usize = 32;
/// Bytes of packed nibbles in a 4- or 5-bit block (two weights per byte).
const NIBBLE_BYTES: usize = QK / 2;

/// Q4_0: bytes per block.
const Q4_0_BYTES: usize = 18;
/// Q4_0: f16 scale `d` at byte 0.
const Q4_0_D: usize = 0;
/// Q4_0: 16 nibble bytes at byte 2.
const Q4_0_QS: usize = 2;

/// Q4_1: bytes per block.
const Q4_1_BYTES: usize = 20;
/// Q4_1: f16 scale `d` at byte 0.
const Q4_1_D: usize = 0;
/// Q4_1: f16 min `m` at byte 2 (added, not multiplied).
const Q4_1_M: usize = 2;
/// Q4_1: 16 nibble bytes at byte 4.
const Q4_1_QS: usize = 4;

/// Q5_0: bytes per block.
const Q5_0_BYTES: usize = 22;
/// Q5_0: f16 scale `d` at byte 0.
const Q5_0_D: usize = 0;
/// Q5_0: u32 LE of 5th bits at byte 2.
const Q5_0_QH: usize = 2;
/// Q5_0: 16 nibble bytes at byte 6.
const Q5_0_QS: usize = 6;

/// Q5_1: bytes per block.
const Q5_1_BYTES: usize = 24;
/// Q5_1: f16 scale `d` at byte 0.
const Q5_1_D: usize = 0;
/// Q5_1: f16 min `m` at byte 2.
const Q5_1_M: usize = 2;
/// Q5_1: u32 LE of 5th bits at byte 4.
const Q5_1_QH: usize = 4;
/// Q5_1: 16 nibble bytes at byte 8.
const Q5_1_QS: usize = 8;

/// Q8_0: bytes per block.
const Q8_0_BYTES: usize = 34;
/// Q8_0: f16 scale `d` at byte 0.
const Q8_0_D: usize = 0;
/// Q8_0: 32 signed bytes at byte 2.
const Q8_0_QS: usize = 2;

// Each layout ends exactly at the end of its block.
const _: () = assert!(Q4_0_QS + NIBBLE_BYTES == Q4_0_BYTES);
const _: () = assert!(Q4_1_QS + NIBBLE_BYTES == Q4_1_BYTES);
const _: () = assert!(Q5_0_QS + NIBBLE_BYTES == Q5_0_BYTES);
const _: () = assert!(Q5_1_QS + NIBBLE_BYTES == Q5_1_BYTES);
const _: () = assert!(Q8_0_QS + QK == Q8_0_BYTES);

/// Sets y[i] = f(i, n_i) for the 32 nibbles of `qs`: n_i = lo(qs[i]) for i < 16, else hi(qs[i − 16]).
#[inline(always)]
fn for_nibbles(qs: &[u8], y: &mut [f32; QK], f: impl Fn(usize, u8) -> f32) {
    let (first, second) = y.split_at_mut(NIBBLE_BYTES);
    for (j, ((&q, lo), hi)) in qs[..NIBBLE_BYTES].iter().zip(first).zip(second).enumerate() {
        *lo = f(j, q & 0xF);
        *hi = f(j + NIBBLE_BYTES, q >> 4);
    }
}

/// The little-endian u32 at byte `off` of `b`.
#[inline(always)]
fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Q4_0: y = d · (n − 8).
pub(super) fn q4_0(b: &[u8; Q4_0_BYTES], y: &mut [f32; QK]) {
    let d = f16_at(b, Q4_0_D);
    for_nibbles(&b[Q4_0_QS..], y, |_, n| d * (i32::from(n) - 8) as f32);
}

/// Q4_1: y = d · n + m.
pub(super) fn q4_1(b: &[u8; Q4_1_BYTES], y: &mut [f32; QK]) {
    let (d, m) = (f16_at(b, Q4_1_D), f16_at(b, Q4_1_M));
    for_nibbles(&b[Q4_1_QS..], y, |_, n| d * f32::from(n) + m);
}

/// Q5_0: y = d · ((n + 16·h) − 16), h = bit i of qh.
pub(super) fn q5_0(b: &[u8; Q5_0_BYTES], y: &mut [f32; QK]) {
    let d = f16_at(b, Q5_0_D);
    let qh = u32_at(b, Q5_0_QH);
    for_nibbles(&b[Q5_0_QS..], y, |i, n| {
        let q = u32::from(n) | ((qh >> i) & 1) << 4;
        d * (q as i32 - 16) as f32
    });
}

/// Q5_1: y = d · (n + 16·h) + m.
pub(super) fn q5_1(b: &[u8; Q5_1_BYTES], y: &mut [f32; QK]) {
    let (d, m) = (f16_at(b, Q5_1_D), f16_at(b, Q5_1_M));
    let qh = u32_at(b, Q5_1_QH);
    for_nibbles(&b[Q5_1_QS..], y, |i, n| {
        let q = u32::from(n) | ((qh >> i) & 1) << 4;
        d * q as f32 + m
    });
}

/// Q8_0: y = d · int8(qs[i]).
pub(super) fn q8_0(b: &[u8; Q8_0_BYTES], y: &mut [f32; QK]) {
    let d = f16_at(b, Q8_0_D);
    for (y, &q) in y.iter_mut().zip(&b[Q8_0_QS..]) {
        *y = d * f32::from(q as i8);
    }
}
