// f16.wgsl: F16 weights. A GPU block is 8 consecutive values in 4 words; word k holds
// value 2k in its low half and 2k + 1 in its high half (IEEE binary16 each).
// y = the f16 widened exactly to f32 (unpack2x16float; subnormals, Inf, NaN kept).
#include "common/f16.wgsl"

const BLOCK_ELEMS: u32 = 8u;
const BLOCK_WORDS: u32 = 4u;
const CHUNKS: u32 = 1u;

fn chunk_starts(c: u32) -> vec2<u32> {
    return vec2<u32>(0u, 4u);
}

fn dequant_chunk(base: u32, c: u32) -> array<vec4<f32>, 2> {
    let first = vec4<f32>(unpack2x16float(wd(base)), unpack2x16float(wd(base + 1u)));
    let second = vec4<f32>(unpack2x16float(wd(base + 2u)), unpack2x16float(wd(base + 3u)));
    return array<vec4<f32>, 2>(first, second);
}
