// matvec_rowwise.wgsl: matvec.wgsl (y = W·x for one token, up to three matrices of one
// format and width, accumulate, norm and GLU modes) for CPU drivers (lavapipe, SwiftShader).
// Same result, shaped for how those drivers run a shader: a workgroup is one SIMD loop over
// its invocations, every storage load inside a loop becomes one scalar load per invocation,
// and a barrier is a coroutine switch. So: each invocation dots whole rows with no barrier;
// weights come in vec4<u32> loads, GROUP blocks at a time (a whole number of vec4s), into a
// private array that the format decodes from; x (and the norm weight g) come from uniform
// buffers, whose loads at one index for all invocations are a single broadcast; each
// invocation sums x² itself for the norm.
// bindings: 0..2 w0, w1, w2 array<vec4<u32>> (rows × row_words / 4, GPU blocks; row_words
//           a multiple of 4; unused ones bound to w0) · 3 x uniform array<vec4<f32>, X_VEC4>
//           (cols / 4 used; the binding is X_VEC4 vec4s, WebGPU's smallest
//           maxUniformBufferBindingSize) · 4 g (likewise: the norm weight; x when not normed)
//           · 5..7 y0, y1, y2 array<f32> (y_offset + rows; unused ones bound to y0) · 8 params
// dispatch: Σ_s ceil(rows_s / (WG_SIZE · ROWS)) workgroups of WG_SIZE (overrides; WG_SIZE
//           ≤ 256, ROWS ≤ MAX_ROWS), segment s from workgroup seg_start[s] on, 2-D past
//           65535 (group = wg.x + wg.y · num_workgroups.x); invocation lid of the segment's
//           workgroup j dots rows j·WG_SIZE·ROWS + r·WG_SIZE + lid, r < ROWS (with GLU, of
//           both w0 and w1; GELU: GeGLU). SEGS (1 or 3) and NORM (0 or 1) are overrides, so
//           that the binding a load reads and the input are known when the kernel is
//           compiled.
// CPU twin: hearth_model::ops::{rms_norm, matvec, silu_mul, gelu_mul}
//           · test: crates/gpu/tests/matvec.rs

const X_VEC4: u32 = 4096u;

@group(0) @binding(0) var<storage, read> w0: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> w1: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> w2: array<vec4<u32>>;
@group(0) @binding(3) var<uniform> x: array<vec4<f32>, X_VEC4>;
@group(0) @binding(4) var<uniform> g: array<vec4<f32>, X_VEC4>;
@group(0) @binding(5) var<storage, read_write> y0: array<f32>;
@group(0) @binding(6) var<storage, read_write> y1: array<f32>;
@group(0) @binding(7) var<storage, read_write> y2: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;

#include format

// Blocks per load group: the fewest whose words fill whole vec4s.
const GROUP: u32 = select(select(4u, 2u, BLOCK_WORDS % 2u == 0u), 1u, BLOCK_WORDS % 4u == 0u);
const GROUP_VEC4: u32 = GROUP * BLOCK_WORDS / 4u;
override WG_SIZE: u32 = 64u;
override ROWS: u32 = 1u;
override GLU: u32 = 0u;
// with GLU, 1: GeGLU (gelu(W0·x) · (W1·x)); 0: SwiGLU
override GELU: u32 = 0u;
// segments (weight bindings) the dispatch dots: 1..3
override SEGS: u32 = 3u;
// 1: x is RMS-normed first
override NORM: u32 = 0u;
// matrices each row dots: w_seg, or (GLU) w0 and w1
override MATS: u32 = GLU + 1u;
const MAX_ROWS: u32 = 4u;
const MAX_SLOTS: u32 = 2u * MAX_ROWS;

// The load group being decoded, for each (row, matrix) slot; the formats read it through wd.
var<private> blk: array<u32, MAX_SLOTS * GROUP_VEC4 * 4u>;
var<private> blk_row: u32;

fn wd(i: u32) -> u32 {
    return blk[blk_row * (GROUP_VEC4 * 4u) + i];
}

fn load(m: u32, i: u32) -> vec4<u32> {
    switch m {
        case 1u: { return w1[i]; }
        case 2u: { return w2[i]; }
        default: { return w0[i]; }
    }
}

#include "common/matvec_io.wgsl"

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let group = wid.x + wid.y * nwg.x;
    // SEGS 1: segment 0, a constant, so that load and store pick their binding statically
    let seg = select(0u, u32(group >= p.seg_start.y) + u32(group >= p.seg_start.z), SEGS > 1u);
    let rows = p.seg_rows[seg];
    let first = (group - p.seg_start[seg]) * WG_SIZE * ROWS;
    let row_vec4 = p.row_words / 4u;
    var scale = 1.0;
    if (NORM != 0u) {
        var ss = 0.0;
        for (var j = 0u; j < p.cols / 4u; j++) {
            let v = x[j];
            ss += dot(v, v);
        }
        scale = inverseSqrt(ss / f32(p.cols) + p.eps);
    }
    // rows past the end read the last row (no branch around the loads) and are not stored
    var base: array<u32, MAX_ROWS>;
    var acc: array<f32, MAX_SLOTS>;
    for (var r = 0u; r < ROWS; r++) {
        base[r] = min(first + r * WG_SIZE + lid.x, rows - 1u) * row_vec4;
    }
    let blocks = p.cols / BLOCK_ELEMS;
    // the last vec4 of the row: a short last group reads no further
    let last = row_vec4 - 1u;
    for (var b = 0u; b < blocks; b += GROUP) {
        for (var r = 0u; r < ROWS; r++) {
            for (var m = 0u; m < MATS; m++) {
                let mi = select(seg, m, GLU != 0u);
                for (var k = 0u; k < GROUP_VEC4; k++) {
                    let q = load(mi, base[r] + min(b / GROUP * GROUP_VEC4 + k, last));
                    let o = ((r * MATS + m) * GROUP_VEC4 + k) * 4u;
                    blk[o] = q.x;
                    blk[o + 1u] = q.y;
                    blk[o + 2u] = q.z;
                    blk[o + 3u] = q.w;
                }
            }
        }
        // no early exit: blocks of a short last group past the row's end decode clamped
        // loads and count 0, so that the compiler can unroll and the private indices fold
        for (var gi = 0u; gi < GROUP; gi++) {
            let valid = b + gi < blocks;
            let xb = min(b + gi, blocks - 1u) * (BLOCK_ELEMS / 4u);
            for (var c = 0u; c < CHUNKS; c++) {
                let s = xb + chunk_starts(c) / 4u;
                let x0 = input(s.x, scale);
                let x1 = input(s.y, scale);
                for (var slot = 0u; slot < ROWS * MATS; slot++) {
                    blk_row = slot;
                    let v = dequant_chunk(gi * BLOCK_WORDS, c);
                    acc[slot] += select(0.0, dot(v[0], x0) + dot(v[1], x1), valid);
                }
            }
        }
    }
    for (var r = 0u; r < ROWS; r++) {
        let row = first + r * WG_SIZE + lid.x;
        if (row < rows) {
            store(seg, row, acc[r * MATS], acc[r * MATS + MATS - 1u]);
        }
    }
}
