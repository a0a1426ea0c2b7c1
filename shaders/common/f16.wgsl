// f16.wgsl: f16 → f32 widening of either half of a u32 word, exact (subnormals kept: the
// f16 subnormals are normal f32 numbers), and the bit-field extraction that the block
// formats share. Included by the block formats; every helper takes words, never reads a
// binding.

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
    let s = vec4<i32>(bitcast<i32>(q)) << vec4<u32>(24u, 16u, 8u, 0u);
    return vec4<f32>(s >> vec4<u32>(24u));
}

// Byte k (0..3) of q, unsigned.
fn byte_at(q: u32, k: u32) -> u32 {
    return (q >> (8u * k)) & 0xFFu;
}

// Byte k (0..3) of q, as a signed 8-bit integer.
fn byte_i8(q: u32, k: u32) -> i32 {
    return extractBits(bitcast<i32>(q), 8u * k, 8u);
}

// The field (q_byte >> shift) & mask of each of the four bytes of q (byte k → component
// k): 2-bit planes, nibbles, single bits of a byte.
fn byte_fields(q: u32, shift: u32, mask: u32) -> vec4<u32> {
    return (vec4<u32>(q) >> (vec4<u32>(0u, 8u, 16u, 24u) + shift)) & vec4<u32>(mask);
}

// Bits first .. first + 3 of x (bit first + k → component k), each 0 or 1.
fn bits4(x: u32, first: u32) -> vec4<u32> {
    return (vec4<u32>(x) >> (vec4<u32>(0u, 1u, 2u, 3u) + first)) & vec4<u32>(1u);
}

// Q4_K/Q5_K `get_scale_min_k4`: the 6-bit scale and min (as floats) of sub-block j (0..7)
// from the 12 packed scale bytes b0..b11 held in the words s.x (b0..b3), s.y (b4..b7) and
// s.z (b8..b11). j < 4: sc = b[j] & 63, m = b[j+4] & 63; j ≥ 4: sc = lo(b[j+4]) | (b[j-4] >> 6) << 4,
// m = hi(b[j+4]) | (b[j] >> 6) << 4.
fn k4_scale_min(s: vec3<u32>, j: u32) -> vec2<f32> {
    let k = j & 3u;
    let a = byte_at(s.x, k);  // b[j] (j < 4) or b[j-4]
    let b = byte_at(s.y, k);  // b[j+4] (j < 4) or b[j]
    let c = byte_at(s.z, k);  // b[j+4] (j ≥ 4)
    let six = vec2<u32>(a & 63u, b & 63u);
    let split = vec2<u32>((c & 0xFu) | ((a >> 6u) << 4u), (c >> 4u) | ((b >> 6u) << 4u));
    return vec2<f32>(select(six, split, j >= 4u));
}
