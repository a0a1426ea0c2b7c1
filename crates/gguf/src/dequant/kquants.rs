//! The K-quant super-block formats Q2_K, Q3_K, Q4_K, Q5_K and Q6_K (`docs/gguf.md` §2.3).
//!
//! A super-block holds 256 weights in sub-blocks of 16 (Q2_K, Q3_K, Q6_K) or 32 (Q4_K, Q5_K),
//! each with its own small integer scale (and min) multiplied by the block's f16 `d` (`dmin`).

use super::f16_at;

/// Weights per super-block.
const QK_K: usize = 256;

/// Q2_K: bytes per super-block.
const Q2_K_BYTES: usize = 84;
/// Q2_K: 16 scale bytes at byte 0 (low nibble scale, high nibble min).
const Q2_K_SCALES: usize = 0;
/// Q2_K: 64 bytes of 2-bit quants at byte 16.
const Q2_K_QS: usize = 16;
/// Q2_K: f16 super-block scale `d` at byte 80.
const Q2_K_D: usize = 80;
/// Q2_K: f16 super-block min scale `dmin` at byte 82.
const Q2_K_DMIN: usize = 82;

/// Q3_K: bytes per super-block.
const Q3_K_BYTES: usize = 110;
/// Q3_K: 32 bytes of high bits at byte 0 (bit s32 of byte l).
const Q3_K_HMASK: usize = 0;
/// Q3_K: 64 bytes of low 2-bit quants at byte 32.
const Q3_K_QS: usize = 32;
/// Q3_K: 12 bytes of sixteen packed 6-bit scales at byte 96.
const Q3_K_SCALES: usize = 96;
/// Q3_K: f16 super-block scale `d` at byte 108.
const Q3_K_D: usize = 108;

/// Q4_K: bytes per super-block.
const Q4_K_BYTES: usize = 144;
/// Q4_K: f16 super-block scale `d` at byte 0.
const Q4_K_D: usize = 0;
/// Q4_K: f16 super-block min scale `dmin` at byte 2.
const Q4_K_DMIN: usize = 2;
/// Q4_K: 12 bytes of eight 6-bit scales and eight 6-bit mins at byte 4.
const Q4_K_SCALES: usize = 4;
/// Q4_K: 128 nibble bytes at byte 16.
const Q4_K_QS: usize = 16;

/// Q5_K: bytes per super-block.
const Q5_K_BYTES: usize = 176;
/// Q5_K: f16 super-block scale `d` at byte 0.
const Q5_K_D: usize = 0;
/// Q5_K: f16 super-block min scale `dmin` at byte 2.
const Q5_K_DMIN: usize = 2;
/// Q5_K: 12 bytes of scales and mins at byte 4, packed as in Q4_K.
const Q5_K_SCALES: usize = 4;
/// Q5_K: 32 bytes of 5th bits at byte 16 (bit s32 of byte l).
const Q5_K_QH: usize = 16;
/// Q5_K: 128 nibble bytes at byte 48.
const Q5_K_QS: usize = 48;

/// Q6_K: bytes per super-block.
const Q6_K_BYTES: usize = 210;
/// Q6_K: 128 bytes of low 4-bit quants at byte 0.
const Q6_K_QL: usize = 0;
/// Q6_K: 64 bytes of high 2-bit quants at byte 128.
const Q6_K_QH: usize = 128;
/// Q6_K: 16 int8 sub-block scales at byte 192.
const Q6_K_SCALES: usize = 192;
/// Q6_K: f16 super-block scale `d` at byte 208.
const Q6_K_D: usize = 208;

// Each layout ends exactly at the end of its super-block.
const _: () = assert!(Q2_K_DMIN + 2 == Q2_K_BYTES);
const _: () = assert!(Q3_K_D + 2 == Q3_K_BYTES);
const _: () = assert!(Q4_K_QS + 128 == Q4_K_BYTES);
const _: () = assert!(Q5_K_QS + 128 == Q5_K_BYTES);
const _: () = assert!(Q6_K_D + 2 == Q6_K_BYTES);

/// Where the 16 weights of sub-block k (0..15) of a 2-bit-plane layout (Q2_K, Q3_K) live:
/// their quant bytes start at `qs[start]`, the bits are at `shift`, and `l0` = i % 32 of the
/// first weight. (Weight i = 128h + 32j + l uses bits 2j.. of qs[32h + l].)
#[inline(always)]
fn plane16(k: usize) -> (usize, u32, usize) {
    let (h, j, l0) = (k / 8, (k % 8) / 2, 16 * (k % 2));
    (32 * h + l0, 2 * j as u32, l0)
}

/// Q2_K: y = d · lo(scales[i/16]) · q − dmin · hi(scales[i/16]), q 2-bit from the planes.
pub(super) fn q2_k(b: &[u8; Q2_K_BYTES], y: &mut [f32; QK_K]) {
    let (d, dmin) = (f16_at(b, Q2_K_D), f16_at(b, Q2_K_DMIN));
    let scales = &b[Q2_K_SCALES..Q2_K_SCALES + 16];
    let qs = &b[Q2_K_QS..Q2_K_QS + 64];
    for (k, (ys, &sc)) in y.chunks_exact_mut(16).zip(scales).enumerate() {
        let dl = d * f32::from(sc & 0xF);
        let ml = dmin * f32::from(sc >> 4);
        let (start, shift, _) = plane16(k);
        for (y, &q) in ys.iter_mut().zip(&qs[start..start + 16]) {
            *y = dl * f32::from((q >> shift) & 3) - ml;
        }
    }
}

/// Q3_K's sixteen 6-bit scales S[k], before subtracting 32: low 4 bits from bytes 0..7 (low
/// nibbles for k < 8, high nibbles after), high 2 bits from bytes 8..11.
#[inline(always)]
fn q3_k_scales(b: &[u8]) -> [u8; 16] {
    std::array::from_fn(|k| {
        let low = if k < 8 { b[k] & 0xF } else { b[k - 8] >> 4 };
        let high = (b[8 + k % 4] >> (2 * (k / 4))) & 3;
        low | high << 4
    })
}

/// Q3_K: y = d · (S[i/16] − 32) · q, q = low2 − (hmask bit set ? 0 : 4) ∈ [−4, 3].
pub(super) fn q3_k(b: &[u8; Q3_K_BYTES], y: &mut [f32; QK_K]) {
    let d = f16_at(b, Q3_K_D);
    let scales = q3_k_scales(&b[Q3_K_SCALES..Q3_K_SCALES + 12]);
    let hmask = &b[Q3_K_HMASK..Q3_K_HMASK + 32];
    let qs = &b[Q3_K_QS..Q3_K_QS + 64];
    for (k, (ys, &sc)) in y.chunks_exact_mut(16).zip(&scales).enumerate() {
        let dl = d * f32::from(sc as i8 - 32);
        let (start, shift, l0) = plane16(k);
        let hbit = k / 2; // i / 32
        let quants = qs[start..start + 16].iter().zip(&hmask[l0..l0 + 16]);
        for (y, (&q, &hm)) in ys.iter_mut().zip(quants) {
            let low2 = ((q >> shift) & 3) as i8;
            let offset = if (hm >> hbit) & 1 == 1 { 0 } else { 4 };
            *y = dl * f32::from(low2 - offset);
        }
    }
}

/// `get_scale_min_k4`: the 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes
/// of Q4_K/Q5_K (j < 4: low 6 bits of bytes j and j+4; else a nibble of byte j+4 plus the top
/// 2 bits of bytes j−4 and j).
/// Shared with the CPU engine's decoders.
#[inline(always)]
pub fn k4_scale_min(b: &[u8], j: usize) -> (u8, u8) {
    if j < 4 {
        (b[j] & 63, b[j + 4] & 63)
    } else {
        (
            (b[j + 4] & 0xF) | (b[j - 4] >> 6) << 4,
            (b[j + 4] >> 4) | (b[j] >> 6) << 4,
        )
    }
}

/// Q4_K: y = d · sc[i/32] · n − dmin · m[i/32]; sub-block s takes nibble (s % 2) of qs[32(s/2)..].
pub(super) fn q4_k(b: &[u8; Q4_K_BYTES], y: &mut [f32; QK_K]) {
    let (d, dmin) = (f16_at(b, Q4_K_D), f16_at(b, Q4_K_DMIN));
    let scales = &b[Q4_K_SCALES..Q4_K_SCALES + 12];
    let qs = &b[Q4_K_QS..Q4_K_QS + 128];
    for (s, ys) in y.chunks_exact_mut(32).enumerate() {
        let (sc, m) = k4_scale_min(scales, s);
        let (dl, ml) = (d * f32::from(sc), dmin * f32::from(m));
        let shift = 4 * (s % 2);
        for (y, &q) in ys.iter_mut().zip(&qs[32 * (s / 2)..32 * (s / 2) + 32]) {
            *y = dl * f32::from((q >> shift) & 0xF) - ml;
        }
    }
}

/// Q5_K: as Q4_K with a 5th bit, bit s of qh[i % 32]: y = d · sc · (n + 16·h) − dmin · m.
pub(super) fn q5_k(b: &[u8; Q5_K_BYTES], y: &mut [f32; QK_K]) {
    let (d, dmin) = (f16_at(b, Q5_K_D), f16_at(b, Q5_K_DMIN));
    let scales = &b[Q5_K_SCALES..Q5_K_SCALES + 12];
    let qh = &b[Q5_K_QH..Q5_K_QH + 32];
    let qs = &b[Q5_K_QS..Q5_K_QS + 128];
    for (s, ys) in y.chunks_exact_mut(32).enumerate() {
        let (sc, m) = k4_scale_min(scales, s);
        let (dl, ml) = (d * f32::from(sc), dmin * f32::from(m));
        let shift = 4 * (s % 2);
        let quants = qs[32 * (s / 2)..32 * (s / 2) + 32].iter().zip(qh);
        for (y, (&q, &h)) in ys.iter_mut().zip(quants) {
            let q5 = ((q >> shift) & 0xF) | ((h >> s) & 1) << 4;
            *y = dl * f32::from(q5) - ml;
        }
    }
}

/// Q6_K: y = d · int8(scales[i/16]) · ((low4 + 16·high2) − 32). Sub-block k of half h holds
/// weights 128h + 32g + l (g = (k % 8)/2, l = 16(k % 2)..+16): low4 is nibble g/2 of
/// ql[64h + 32(g % 2) + l], high2 is bits 2g.. of qh[32h + l].
pub(super) fn q6_k(b: &[u8; Q6_K_BYTES], y: &mut [f32; QK_K]) {
    let d = f16_at(b, Q6_K_D);
    let ql = &b[Q6_K_QL..Q6_K_QL + 128];
    let qh = &b[Q6_K_QH..Q6_K_QH + 64];
    let scales = &b[Q6_K_SCALES..Q6_K_SCALES + 16];
    for (k, (ys, &sc)) in y.chunks_exact_mut(16).zip(scales).enumerate() {
        let dl = d * f32::from(sc as i8);
        let (h, g, l0) = (k / 8, (k % 8) / 2, 16 * (k % 2));
        let lo_start = 64 * h + 32 * (g % 2) + l0;
        let hi_start = 32 * h + l0;
        let (lo_shift, hi_shift) = (4 * (g / 2), 2 * g);
        let quants = ql[lo_start..lo_start + 16]
            .iter()
            .zip(&qh[hi_start..hi_start + 16]);
        for (y, (&lo, &hi)) in ys.iter_mut().zip(quants) {
            let q = ((lo >> lo_shift) & 0xF) | ((hi >> hi_shift) & 3) << 4;
            *y = dl * f32::from(q as i8 - 32);
        }
    }
}
