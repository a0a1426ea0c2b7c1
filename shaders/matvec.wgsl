// matvec.wgsl: y = W·x for one token (decode), W in any weight format (see formats/);
// with `accumulate`, y += W·x (the residual add fused into the output projections).
// bindings: 0 w array<u32> (rows × row_words, GPU blocks) · 1 x array<vec4<f32>> (cols / 4)
//           · 2 y array<f32> (y_offset + rows) · 3 params
// dispatch: one workgroup of WG_SIZE (override, a power of two ≤ 256) per row, laid out
//           2-D when rows > 65535 (row = wg.x + wg.y · num_workgroups.x)
// CPU twin: hearth_model::ops::matvec · test: crates/gpu/tests/matvec.rs

struct Params {
    rows: u32,        // rows of W in this part
    cols: u32,        // weights per row
    row_words: u32,   // u32 words per row
    y_offset: u32,    // index in y of this part's first row
    accumulate: u32,  // 1: y += W·x, 0: y = W·x
}

@group(0) @binding(0) var<storage, read> w: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

#include format

override WG_SIZE: u32 = 64u;
var<workgroup> partial: array<f32, WG_SIZE>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) {
        return;
    }
    // each invocation dots a strided share of the row's 8-weight chunks with x
    let chunks = p.cols / BLOCK_ELEMS * CHUNKS;
    var acc = 0.0;
    for (var ch = lid.x; ch < chunks; ch += WG_SIZE) {
        let block = ch / CHUNKS;
        let c = ch % CHUNKS;
        let v = dequant_chunk(row * p.row_words + block * BLOCK_WORDS, c);
        let s = (block * BLOCK_ELEMS + chunk_starts(c)) / 4u;
        acc += dot(v[0], x[s.x]) + dot(v[1], x[s.y]);
    }
    // tree reduction in workgroup memory
    partial[lid.x] = acc;
    workgroupBarrier();
    for (var stride = WG_SIZE / 2u; stride > 0u; stride /= 2u) {
        if (lid.x < stride) {
            partial[lid.x] += partial[lid.x + stride];
        }
        workgroupBarrier();
    }
    if (lid.x == 0u) {
        let o = p.y_offset + row;
        if (p.accumulate != 0u) {
            y[o] += partial[0];
        } else {
            y[o] = partial[0];
        }
    }
}
