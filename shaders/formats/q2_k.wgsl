// q2_k.wgsl: Q2_K weights. Super-block of 256 in 21 words (the GGUF 84 bytes as they are):
//   w0..w3   scales[16]: byte k = scale (low nibble) and min (high nibble) of sub-block k
//            (weights 16k..16k+15)
//   w4..w19  qs[64]: bits 2j..2j+1 of qs[32h + l] = weight 128h + 32j + l (h 0..1, j 0..3,
//            l 0..31), i.e. four 2-bit planes per byte
//   w20      d (f16, low) | dmin (f16, high)
// y = (d·sc)·q − dmin·m with sc, m the nibbles of scales[i/16] and q ∈ [0, 3] (the CPU's
// order; every product is exact, only the subtraction rounds).
// Chunk c: qs word k = c % 16 (h = k/8, l0 = 4·(k%8)), planes j = 2p and 2p + 1 with
// p = c / 16: weights 128h + 64p + l0.. (plane 2p) and +32 (plane 2p + 1). Their two
// sub-blocks' scale bytes 8h + 4p + l0/16 and +2 share word 2h + p.
#include "common/f16.wgsl"

const BLOCK_ELEMS: u32 = 256u;
const BLOCK_WORDS: u32 = 21u;
const CHUNKS: u32 = 32u;

fn chunk_starts(c: u32) -> vec2<u32> {
    let k = c % 16u;
    let s = 128u * (k / 8u) + 64u * (c / 16u) + 4u * (k % 8u);
    return vec2<u32>(s, s + 32u);
}

fn dequant_chunk(base: u32, c: u32) -> array<vec4<f32>, 2> {
    let k = c % 16u;
    let p = c / 16u;
    let dm = wd(base + 20u);
    let d = f16_lo(dm);
    let dmin = f16_hi(dm);
    let sw = wd(base + 2u * (k / 8u) + p);
    let sa = byte_at(sw, (k % 8u) / 4u);
    let sb = byte_at(sw, 2u + (k % 8u) / 4u);
    let q = wd(base + 4u + k);
    let qa = vec4<f32>(byte_fields(q, 4u * p, 3u));
    let qb = vec4<f32>(byte_fields(q, 4u * p + 2u, 3u));
    let dla = d * f32(sa & 0xFu);
    let dlb = d * f32(sb & 0xFu);
    let mla = dmin * f32(sa >> 4u);
    let mlb = dmin * f32(sb >> 4u);
    return array<vec4<f32>, 2>(dla * qa - mla, dlb * qb - mlb);
}
