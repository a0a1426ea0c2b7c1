// matvec.wgsl: y = W·x for one token (decode), W in any weight format (see formats/);
// with `accumulate`, y += W·x (the residual add fused into the output projections).
// bindings: 0 w array<u32> (rows × row_words, GPU blocks) · 1 x array<vec4<f32>> (cols / 4)
//           · 2 y array<f32> (y_offset + rows) · 3 params
// dispatch: ceil(rows / (WG_SIZE / ROW_THREADS)) workgroups of WG_SIZE (overrides;
//           WG_SIZE ≤ 256, ROW_THREADS a power of two dividing it), laid out 2-D past 65535
//           (group = wg.x + wg.y · num_workgroups.x). ROW_THREADS invocations share a row
//           (coalesced loads on GPUs), striding over its 8-weight chunks, and add their parts
//           in workgroup memory. CPU drivers use matvec_rowwise.wgsl instead.
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

// the formats read the weights through wd
fn wd(i: u32) -> u32 {
    return w[i];
}

#include format

override WG_SIZE: u32 = 64u;
override ROW_THREADS: u32 = 64u;
var<workgroup> partial: array<f32, WG_SIZE>;

fn store(row: u32, acc: f32) {
    let o = p.y_offset + row;
    if (p.accumulate != 0u) {
        y[o] += acc;
    } else {
        y[o] = acc;
    }
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let group = wid.x + wid.y * nwg.x;
    let rows_per_group = WG_SIZE / ROW_THREADS;
    let lane = lid.x % ROW_THREADS;
    let row = group * rows_per_group + lid.x / ROW_THREADS;
    // each invocation dots a strided share of the row's 8-weight chunks with x
    var acc = 0.0;
    if (row < p.rows) {
        let chunks = p.cols / BLOCK_ELEMS * CHUNKS;
        for (var ch = lane; ch < chunks; ch += ROW_THREADS) {
            let block = ch / CHUNKS;
            let c = ch % CHUNKS;
            let v = dequant_chunk(row * p.row_words + block * BLOCK_WORDS, c);
            let s = (block * BLOCK_ELEMS + chunk_starts(c)) / 4u;
            acc += dot(v[0], x[s.x]) + dot(v[1], x[s.y]);
        }
    }
    // tree reduction of a row's parts in workgroup memory
    partial[lid.x] = acc;
    workgroupBarrier();
    for (var stride = ROW_THREADS / 2u; stride > 0u; stride /= 2u) {
        if (lane < stride) {
            partial[lid.x] += partial[lid.x + stride];
        }
        workgroupBarrier();
    }
    if (lane == 0u && row < p.rows) {
        store(row, partial[lid.x]);
    }
}
