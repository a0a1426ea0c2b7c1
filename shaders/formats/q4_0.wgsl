// q4_0.wgsl: Q4_0 weights. Block of 32 in 5 words (GGUF 18 bytes + 2 pad bytes after d):
// w0 = d (f16, low; high half is the repacking pad), w1..w4 = qs[16]. Byte j holds weight
// j (low nibble) and j + 16 (high): y = d·(n − 8).
// Chunk c = word 1 + c: weights 4c..4c+3 (low nibbles) and 16+4c..16+4c+3 (high).
#include "common/f16.wgsl"

const BLOCK_ELEMS: u32 = 32u;
const BLOCK_WORDS: u32 = 5u;
const CHUNKS: u32 = 4u;

fn chunk_starts(c: u32) -> vec2<u32> {
    return vec2<u32>(4u * c, 16u + 4u * c);
}

fn dequant_chunk(base: u32, c: u32) -> array<vec4<f32>, 2> {
    let d = f16_lo(wd(base));
    let q = wd(base + 1u + c);
    return array<vec4<f32>, 2>(d * (nibbles_lo(q) - 8.0), d * (nibbles_hi(q) - 8.0));
}
