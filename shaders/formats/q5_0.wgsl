// q5_0.wgsl: Q5_0 weights. Block of 32 in 6 words (GGUF 22 bytes + 2 pad bytes after d):
// w0 = d (f16, low; high half is the repacking pad), w1 = qh (bit i = 5th bit of weight i),
// w2..w5 = qs[16]. Byte j holds the low 4 bits of weight j (low nibble) and j + 16 (high):
// y = d·((n + 16·h) − 16).
// Chunk c = word 2 + c: weights 4c..4c+3 (low nibbles) and 16+4c..16+4c+3 (high).
#include "common/f16.wgsl"

const BLOCK_ELEMS: u32 = 32u;
const BLOCK_WORDS: u32 = 6u;
const CHUNKS: u32 = 4u;

fn chunk_starts(c: u32) -> vec2<u32> {
    return vec2<u32>(4u * c, 16u + 4u * c);
}

fn dequant_chunk(base: u32, c: u32) -> array<vec4<f32>, 2> {
    let d = f16_lo(wd(base));
    let qh = wd(base + 1u);
    let q = wd(base + 2u + c);
    let a = vec4<i32>(byte_fields(q, 0u, 0xFu) | (bits4(qh, 4u * c) << vec4<u32>(4u))) - 16;
    let b = vec4<i32>(byte_fields(q, 4u, 0xFu) | (bits4(qh, 16u + 4u * c) << vec4<u32>(4u))) - 16;
    return array<vec4<f32>, 2>(d * vec4<f32>(a), d * vec4<f32>(b));
}
