// bf16.wgsl: BF16 weights. A GPU block is 8 consecutive values in 4 words; word k holds
// value 2k in its low half and 2k + 1 in its high half. A bf16 is the upper 16 bits of an
// f32: y = bitcast<f32>(u16 << 16), exact.
#include "common/f16.wgsl"

const BLOCK_ELEMS: u32 = 8u;
const BLOCK_WORDS: u32 = 4u;
const CHUNKS: u32 = 1u;

fn chunk_starts(c: u32) -> vec2<u32> {
    return vec2<u32>(0u, 4u);
}

// The two bf16 of word q as f32 (low half first).
fn bf16_pair(q: u32) -> vec2<f32> {
    return vec2<f32>(bitcast<f32>(q << 16u), bitcast<f32>(q & 0xFFFF0000u));
}

fn dequant_chunk(base: u32, c: u32) -> array<vec4<f32>, 2> {
    let a = vec4<f32>(bf16_pair(wd(base)), bf16_pair(wd(base + 1u)));
    let b = vec4<f32>(bf16_pair(wd(base + 2u)), bf16_pair(wd(base + 3u)));
    return array<vec4<f32>, 2>(a, b);
}
