// q4_k.wgsl: Q4_K weights. Super-block of 256 in 36 words (the GGUF 144 bytes as they are):
//   w0       d (f16, low) | dmin (f16, high)
//   w1..w3   scales[12]: eight 6-bit scales sc and mins m, one pair per sub-block of 32
//            (unpacked by k4_scale_min, common/f16.wgsl)
//   w4..w35  qs[128]: qs[32t + l] holds weight 64t + l (low nibble, sub-block 2t) and
//            64t + 32 + l (high nibble, sub-block 2t + 1), t 0..3, l 0..31
// y = (d·sc)·n − dmin·m (the CPU's order; every product is exact, only the subtraction
// rounds).
// Chunk c = qs word c (t = c/8, l0 = 4·(c%8)): weights 64t + l0.. and 64t + 32 + l0..
#include "common/f16.wgsl"

const BLOCK_ELEMS: u32 = 256u;
const BLOCK_WORDS: u32 = 36u;
const CHUNKS: u32 = 32u;

fn chunk_starts(c: u32) -> vec2<u32> {
    let s = 64u * (c / 8u) + 4u * (c % 8u);
    return vec2<u32>(s, s + 32u);
}

fn dequant_chunk(base: u32, c: u32) -> array<vec4<f32>, 2> {
    let dm = wd(base);
    let d = f16_lo(dm);
    let dmin = f16_hi(dm);
    let s = vec3<u32>(wd(base + 1u), wd(base + 2u), wd(base + 3u));
    let sma = k4_scale_min(s, 2u * (c / 8u));
    let smb = k4_scale_min(s, 2u * (c / 8u) + 1u);
    let q = wd(base + 4u + c);
    let dla = d * sma.x;
    let dlb = d * smb.x;
    let mla = dmin * sma.y;
    let mlb = dmin * smb.y;
    return array<vec4<f32>, 2>(dla * nibbles_lo(q) - mla, dlb * nibbles_hi(q) - mlb);
}
