// f32.wgsl: F32 weights; a GPU block is 8 consecutive values (8 words).
#include "common/f16.wgsl"

const BLOCK_ELEMS: u32 = 8u;
const BLOCK_WORDS: u32 = 8u;
const CHUNKS: u32 = 1u;

fn chunk_starts(c: u32) -> vec2<u32> {
    return vec2<u32>(0u, 4u);
}

fn dequant_chunk(base: u32, c: u32) -> array<vec4<f32>, 2> {
    let a = vec4<f32>(bitcast<f32>(wd(base)), bitcast<f32>(wd(base + 1u)),
                      bitcast<f32>(wd(base + 2u)), bitcast<f32>(wd(base + 3u)));
    let b = vec4<f32>(bitcast<f32>(wd(base + 4u)), bitcast<f32>(wd(base + 5u)),
                      bitcast<f32>(wd(base + 6u)), bitcast<f32>(wd(base + 7u)));
    return array<vec4<f32>, 2>(a, b);
}
