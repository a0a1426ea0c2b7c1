// matvec_rowwise.wgsl: y = W·x for one token (decode), W in any weight format (see
// formats/), for CPU drivers (lavapipe, SwiftShader); with `accumulate`, y += W·x. Same
// result as matvec.wgsl, shaped for how those drivers run a shader: a workgroup is one
// SIMD loop over its invocations, every storage load inside a loop becomes one scalar load
// per invocation, and a barrier is a coroutine switch. So: each invocation dots whole rows
// with no barrier; weights come in vec4<u32> loads, GROUP blocks at a time (a whole number
// of vec4s), into a private array that the format decodes from; x comes from a uniform
// buffer, whose loads at one index for all invocations are a single broadcast.
// bindings: 0 w array<vec4<u32>> (rows × row_words / 4, GPU blocks; row_words a multiple
//           of 4) · 1 x uniform array<vec4<f32>, X_VEC4> (cols / 4 used; the binding is
//           X_VEC4 vec4s, WebGPU's smallest maxUniformBufferBindingSize)
//           · 2 y array<f32> (y_offset + rows) · 3 params
// dispatch: ceil(rows / (WG_SIZE · ROWS)) workgroups of WG_SIZE (overrides; WG_SIZE ≤ 256,
//           ROWS ≤ MAX_ROWS), 2-D past 65535 (group = wg.x + wg.y · num_workgroups.x);
//           invocation lid of group g dots rows g·WG_SIZE·ROWS + r·WG_SIZE + lid, r < ROWS.
// CPU twin: hearth_model::ops::matvec · test: crates/gpu/tests/matvec.rs

struct Params {
    rows: u32,        // rows of W in this part
    cols: u32,        // weights per row (at most 4 · X_VEC4)
    row_words: u32,   // u32 words per row, a multiple of 4
    y_offset: u32,    // index in y of this part's first row
    accumulate: u32,  // 1: y += W·x, 0: y = W·x
}

const X_VEC4: u32 = 4096u;

@group(0) @binding(0) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(1) var<uniform> x: array<vec4<f32>, X_VEC4>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

#include format

// Blocks per load group: the fewest whose words fill whole vec4s.
const GROUP: u32 = select(select(4u, 2u, BLOCK_WORDS % 2u == 0u), 1u, BLOCK_WORDS % 4u == 0u);
const GROUP_VEC4: u32 = GROUP * BLOCK_WORDS / 4u;
override WG_SIZE: u32 = 64u;
override ROWS: u32 = 1u;
const MAX_ROWS: u32 = 4u;

// The load group being decoded, for each row; the formats read it through wd.
var<private> blk: array<u32, MAX_ROWS * GROUP_VEC4 * 4u>;
var<private> blk_row: u32;

fn wd(i: u32) -> u32 {
    return blk[blk_row * (GROUP_VEC4 * 4u) + i];
}

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
    let row_vec4 = p.row_words / 4u;
    // rows past the end read the last row (no branch around the loads) and are not stored
    var base: array<u32, MAX_ROWS>;
    var acc: array<f32, MAX_ROWS>;
    for (var r = 0u; r < ROWS; r++) {
        let row = group * WG_SIZE * ROWS + r * WG_SIZE + lid.x;
        base[r] = min(row, p.rows - 1u) * row_vec4;
    }
    let blocks = p.cols / BLOCK_ELEMS;
    // the last vec4 of the row: a short last group reads no further
    let last = row_vec4 - 1u;
    for (var b = 0u; b < blocks; b += GROUP) {
        for (var r = 0u; r < ROWS; r++) {
            for (var k = 0u; k < GROUP_VEC4; k++) {
                let q = w[base[r] + min(b / GROUP * GROUP_VEC4 + k, last)];
                let o = (r * GROUP_VEC4 + k) * 4u;
                blk[o] = q.x;
                blk[o + 1u] = q.y;
                blk[o + 2u] = q.z;
                blk[o + 3u] = q.w;
            }
        }
        // a constant trip count, so that the compiler unrolls and the private indices fold
        for (var g = 0u; g < GROUP; g++) {
            if (b + g >= blocks) {
                break;
            }
            let xb = (b + g) * (BLOCK_ELEMS / 4u);
            for (var c = 0u; c < CHUNKS; c++) {
                let s = xb + chunk_starts(c) / 4u;
                let x0 = x[s.x];
                let x1 = x[s.y];
                for (var r = 0u; r < ROWS; r++) {
                    blk_row = r;
                    let v = dequant_chunk(g * BLOCK_WORDS, c);
                    acc[r] += dot(v[0], x0) + dot(v[1], x1);
                }
            }
        }
    }
    for (var r = 0u; r < ROWS; r++) {
        let row = group * WG_SIZE * ROWS + r * WG_SIZE + lid.x;
        if (row < p.rows) {
            store(row, acc[r]);
        }
    }
}
