// q4_1.wgsl: Q4_1 weights. Block of 32 in 5 words: w0 = d (f16, low) | m (f16, high),
// w1..w4 = qs[16]. Byte j holds weight j (low nibble) and j + 16 (high): y = d·n + m.
#include "common/f16.wgsl"

const BLOCK_ELEMS: u32 = 32u;
const BLOCK_WORDS: u32 = 5u;
const CHUNKS: u32 = 4u;

fn chunk_starts(c: u32) -> vec2<u32> {
    return vec2<u32>(4u * c, 16u + 4u * c);
}

fn dequant_chunk(base: u32, c: u32) -> array<vec4<f32>, 2> {
    let dm = wd(base);
    let d = f16_lo(dm);
    let m = f16_hi(dm);
    let q = wd(base + 1u + c);
    return array<vec4<f32>, 2>(d * nibbles_lo(q) + m, d * nibbles_hi(q) + m);
}
