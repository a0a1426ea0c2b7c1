// embedding.wgsl: out[i, :] = dequant(W[tokens[i], :]) · scale — the token-embedding
// lookup, in any weight format (see formats/); scale is 1, or Gemma's √n_embd. With tokens
// 0..rows (and scale 1) it dequantizes a whole matrix.
// bindings: 0 w array<u32> (rows first_row.. of W in GPU blocks) · 1 tokens array<u32>
//           (n_tokens) · 2 out array<f32> (n_tokens × cols) · 3 params
// dispatch: (ceil(cols / 8 / WG_SIZE), n_tokens) workgroups of WG_SIZE (override, ≤ 256);
//           one invocation per 8-weight chunk. A token outside this part's rows writes
//           nothing (a matrix split over several buffers is one dispatch per part). SCALED
//           (override, 0 or 1): whether to multiply by scale at all, so that scale 1 copies
//           the dequantized bits (a multiply by 1 flushes subnormals on SwiftShader).
// CPU twin: hearth_gguf::dequantize of row tokens[i], times scale in f32 (the reference's
//           embedding) · test: crates/gpu/tests/embedding.rs

struct Params {
    cols: u32,       // weights per row
    row_words: u32,  // u32 words per row
    first_row: u32,  // first row of W held by this part
    rows: u32,       // rows held by this part
    scale: f32,      // every value times this, with SCALED
}

@group(0) @binding(0) var<storage, read> w: array<u32>;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// the formats read the weights through wd
fn wd(i: u32) -> u32 {
    return w[i];
}

#include format

override WG_SIZE: u32 = 64u;
// 1: out = dequant · scale; 0: out = dequant (scale unread)
override SCALED: u32 = 0u;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y;
    let chunk = gid.x;
    if (chunk >= p.cols / 8u) {
        return;
    }
    let t = tokens[i];
    if (t < p.first_row || t >= p.first_row + p.rows) {
        return;
    }
    let block = chunk / CHUNKS;
    let c = chunk % CHUNKS;
    var v = dequant_chunk((t - p.first_row) * p.row_words + block * BLOCK_WORDS, c);
    if (SCALED != 0u) {
        v[0] *= p.scale;
        v[1] *= p.scale;
    }
    let s = chunk_starts(c);
    let o = i * p.cols + block * BLOCK_ELEMS;
    for (var k = 0u; k < 4u; k++) {
        out[o + s.x + k] = v[0][k];
        out[o + s.y + k] = v[1][k];
    }
}
