// q8_0.wgsl: Q8_0 weights. Block of 32 in 9 words: w0 = d (f16, low; high half is the
// repacking pad), w1..w8 = qs[32] as signed bytes: y = d·q.
#include "common/f16.wgsl"

const BLOCK_ELEMS: u32 = 32u;
const BLOCK_WORDS: u32 = 9u;
const CHUNKS: u32 = 4u;

fn chunk_starts(c: u32) -> vec2<u32> {
    return vec2<u32>(8u * c, 8u * c + 4u);
}

fn dequant_chunk(base: u32, c: u32) -> array<vec4<f32>, 2> {
    let d = f16_lo(wd(base));
    let q = base + 1u + 2u * c;
    return array<vec4<f32>, 2>(d * bytes_i8(wd(q)), d * bytes_i8(wd(q + 1u)));
}
