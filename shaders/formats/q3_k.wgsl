// q3_k.wgsl: Q3_K weights. Super-block of 256 in 28 words (GGUF 110 bytes + 2 pad bytes):
//   w0..w7   hmask[32]: bit i/32 of hmask[i % 32] = high bit of weight i
//   w8..w23  qs[64]: bits 2j..2j+1 of qs[32h + l] = low 2 bits of weight 128h + 32j + l
//   w24..w26 scales[12] = b0..b11: 16 six-bit scales S[k] = (k < 8 ? lo(b[k]) : hi(b[k−8]))
//            | ((b[8 + k%4] >> 2·(k/4)) & 3) << 4, one per sub-block of 16
//   w27      d (f16, low; high half is the repacking pad)
// y = (d·(S[i/16] − 32))·q with q = low2 − (high bit ? 0 : 4) ∈ [−4, 3] (the CPU's order;
// the product's factors are kept apart so that a zero keeps its sign).
// Chunk c: qs word k = c % 16 (h = k/8, l0 = 4·(k%8)), planes j = 2p and 2p + 1 with
// p = c / 16: weights 128h + 64p + l0.. and +32, high bits 4h + 2p (+1) of hmask word k % 8.
#include "common/f16.wgsl"

const BLOCK_ELEMS: u32 = 256u;
const BLOCK_WORDS: u32 = 28u;
const CHUNKS: u32 = 32u;

fn chunk_starts(c: u32) -> vec2<u32> {
    let k = c % 16u;
    let s = 128u * (k / 8u) + 64u * (c / 16u) + 4u * (k % 8u);
    return vec2<u32>(s, s + 32u);
}

// S[k] − 32 of the block whose first word is wd(base), as a float.
fn q3_k_scale(base: u32, k: u32) -> f32 {
    let low = (wd(base + 24u + (k % 8u) / 4u) >> (8u * (k % 4u) + 4u * (k / 8u))) & 0xFu;
    let high = (wd(base + 26u) >> (8u * (k % 4u) + 2u * (k / 4u))) & 3u;
    return f32(i32(low | (high << 4u)) - 32);
}

fn dequant_chunk(base: u32, c: u32) -> array<vec4<f32>, 2> {
    let k = c % 16u;
    let p = c / 16u;
    let h = k / 8u;
    let d = f16_lo(wd(base + 27u));
    let sub = 8u * h + 4u * p + (k % 8u) / 4u;
    let dla = d * q3_k_scale(base, sub);
    let dlb = d * q3_k_scale(base, sub + 2u);
    let q = wd(base + 8u + k);
    let hm = wd(base + k % 8u);
    let hbit = 4u * h + 2u * p;
    let qa = vec4<i32>(byte_fields(q, 4u * p, 3u) | (byte_fields(hm, hbit, 1u) << vec4<u32>(2u))) - 4;
    let qb = vec4<i32>(byte_fields(q, 4u * p + 2u, 3u) | (byte_fields(hm, hbit + 1u, 1u) << vec4<u32>(2u))) - 4;
    return array<vec4<f32>, 2>(dla * vec4<f32>(qa), dlb * vec4<f32>(qb));
}
