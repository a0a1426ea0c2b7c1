// q6_k.wgsl: Q6_K weights. Super-block of 256 in 53 words (GGUF 210 bytes + 2 pad bytes):
//   w0..w31  ql[128]: low 4 bits; w32..w47 qh[64]: high 2 bits; w48..w51 scales[16] (int8,
//            one per sub-block of 16); w52 d (f16, low; high half is the repacking pad)
// With h = 0..1, l = 0..31 (docs/gguf.md §2.3):
//   weight 128h + l      lo(ql[64h + l])       (qh[32h + l] >> 0) & 3
//   weight 128h + 32 + l lo(ql[64h + 32 + l])  (qh[32h + l] >> 2) & 3
//   weight 128h + 64 + l hi(ql[64h + l])       (qh[32h + l] >> 4) & 3
//   weight 128h + 96 + l hi(ql[64h + 32 + l])  (qh[32h + l] >> 6) & 3
// y = (d·scales[i/16])·((low4 + 16·high2) − 32) (the CPU's order; the product's factors are
// kept apart so that a zero keeps its sign).
// Chunk c = ql word c (h = c/16, g = (c%16)/8, l0 = 4·(c%8)): weights 128h + 32g + l0..
// (low nibbles, qh bits 2g) and 128h + 64 + 32g + l0.. (high nibbles, qh bits 2g + 4),
// both from qh word 8h + c%8; scales 8h + 2g + l0/16 (word 2h) and +4 (word 2h + 1).
#include "common/f16.wgsl"

const BLOCK_ELEMS: u32 = 256u;
const BLOCK_WORDS: u32 = 53u;
const CHUNKS: u32 = 32u;

fn chunk_starts(c: u32) -> vec2<u32> {
    let s = 128u * (c / 16u) + 32u * ((c % 16u) / 8u) + 4u * (c % 8u);
    return vec2<u32>(s, s + 64u);
}

fn dequant_chunk(base: u32, c: u32) -> array<vec4<f32>, 2> {
    let h = c / 16u;
    let g = (c % 16u) / 8u;
    let d = f16_lo(wd(base + 52u));
    let sub = 2u * g + (c % 8u) / 4u;
    let dla = d * f32(byte_i8(wd(base + 48u + 2u * h), sub));
    let dlb = d * f32(byte_i8(wd(base + 49u + 2u * h), sub));
    let ql = wd(base + c);
    let qh = wd(base + 32u + 8u * h + c % 8u);
    let qa = vec4<i32>(byte_fields(ql, 0u, 0xFu) | (byte_fields(qh, 2u * g, 3u) << vec4<u32>(4u))) - 32;
    let qb = vec4<i32>(byte_fields(ql, 4u, 0xFu) | (byte_fields(qh, 2u * g + 4u, 3u) << vec4<u32>(4u))) - 32;
    return array<vec4<f32>, 2>(dla * vec4<f32>(qa), dlb * vec4<f32>(qb));
}
