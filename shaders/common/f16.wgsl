// f16.wgsl: f16 → f32 widening of either half of a u32 word, exact (subnormals kept: the
// f16 subnormals are normal f32 numbers). Included by the block formats.

fn f16_lo(w: u32) -> f32 {
    return unpack2x16float(w).x;
}

fn f16_hi(w: u32) -> f32 {
    return unpack2x16float(w).y;
}

// Low nibbles of the four bytes of q, as floats (byte k → component k).
fn nibbles_lo(q: u32) -> vec4<f32> {
    return vec4<f32>((vec4<u32>(q) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xFu));
}

// High nibbles of the four bytes of q.
fn nibbles_hi(q: u32) -> vec4<f32> {
    return vec4<f32>((vec4<u32>(q) >> vec4<u32>(4u, 12u, 20u, 28u)) & vec4<u32>(0xFu));
}

// The four bytes of q as signed 8-bit integers.
fn bytes_i8(q: u32) -> vec4<f32> {
    let s = bitcast<i32>(q);
    return vec4<f32>(f32(extractBits(s, 0u, 8u)), f32(extractBits(s, 8u, 8u)),
                     f32(extractBits(s, 16u, 8u)), f32(extractBits(s, 24u, 8u)));
}
