// matvec.wgsl: y = W·x for one token (decode), W in any weight format (see formats/), up to
// three matrices of one format and width in one dispatch (q, k and v; or the parts of a
// split matrix), each writing its own y; with `accumulate`, y += W·x (the residual add
// fused into the output projections); with `norm`, x is RMS-normed first (x / rms(x) · g,
// rms_norm.wgsl folded in); with GLU, y = silu(W0·x) · (W1·x) (gate and up with SwiGLU).
// bindings: 0..2 w0, w1, w2 array<u32> (rows × row_words, GPU blocks; unused ones bound to
//           w0) · 3 x array<vec4<f32>> (cols / 4) · 4 g array<vec4<f32>> (cols / 4: the norm
//           weight; x when not normed) · 5..7 y0, y1, y2 array<f32> (y_offset + rows; unused
//           ones bound to y0) · 8 params
// dispatch: Σ_s ceil(rows_s / (WG_SIZE / ROW_THREADS)) workgroups of WG_SIZE (overrides;
//           WG_SIZE ≤ 256 a power of two, ROW_THREADS a power of two dividing it), segment s
//           from workgroup seg_start[s] on, laid out 2-D past 65535 (group = wg.x + wg.y ·
//           num_workgroups.x). ROW_THREADS invocations share a row (coalesced loads on GPUs),
//           striding over its 8-weight chunks, and add their parts in workgroup memory. GLU
//           (override, 0 or 1): one segment whose rows dot both w0 and w1. CPU drivers use
//           matvec_rowwise.wgsl instead.
// CPU twin: hearth_model::ops::{rms_norm, matvec, silu_mul} · test: crates/gpu/tests/matvec.rs

struct Params {
    cols: u32,              // weights per row
    row_words: u32,         // u32 words per row
    accumulate: u32,        // 1: y += W·x, 0: y = W·x
    norm: u32,              // 1: x / sqrt(mean(x²) + eps) · g in place of x
    eps: f32,
    seg_rows: vec4<u32>,    // rows of segment s (.w unused)
    seg_start: vec4<u32>,   // first workgroup of segment s (0xffffffff past the last)
    y_offset: vec4<u32>,    // index in y_s of segment s's first row
}

@group(0) @binding(0) var<storage, read> w0: array<u32>;
@group(0) @binding(1) var<storage, read> w1: array<u32>;
@group(0) @binding(2) var<storage, read> w2: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> y0: array<f32>;
@group(0) @binding(6) var<storage, read_write> y1: array<f32>;
@group(0) @binding(7) var<storage, read_write> y2: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;

// the matrix being decoded: the formats read it through wd
var<private> mat: u32;

fn wd(i: u32) -> u32 {
    switch mat {
        case 1u: { return w1[i]; }
        case 2u: { return w2[i]; }
        default: { return w0[i]; }
    }
}

#include format

override WG_SIZE: u32 = 64u;
override ROW_THREADS: u32 = 64u;
override GLU: u32 = 0u;
var<workgroup> partial: array<f32, WG_SIZE>;
var<workgroup> partial_up: array<f32, WG_SIZE>;

// The norm's 1 / rms(x), summed by the whole workgroup (call in uniform control flow).
fn norm_scale(lid: u32) -> f32 {
    var ss = 0.0;
    for (var j = lid; j < p.cols / 4u; j += WG_SIZE) {
        let v = x[j];
        ss += dot(v, v);
    }
    partial[lid] = ss;
    workgroupBarrier();
    for (var stride = WG_SIZE / 2u; stride > 0u; stride /= 2u) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    let s = inverseSqrt(partial[0] / f32(p.cols) + p.eps);
    workgroupBarrier();  // every invocation has read partial[0] before it is reused
    return s;
}

#include "common/matvec_io.wgsl"

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let group = wid.x + wid.y * nwg.x;
    var scale = 1.0;
    if (p.norm != 0u) {
        scale = norm_scale(lid.x);
    }
    let seg = u32(group >= p.seg_start.y) + u32(group >= p.seg_start.z);
    let rows_per_group = WG_SIZE / ROW_THREADS;
    let lane = lid.x % ROW_THREADS;
    let row = (group - p.seg_start[seg]) * rows_per_group + lid.x / ROW_THREADS;
    // each invocation dots a strided share of the row's 8-weight chunks with x
    var acc = 0.0;
    var acc_up = 0.0;
    if (row < p.seg_rows[seg]) {
        let chunks = p.cols / BLOCK_ELEMS * CHUNKS;
        for (var ch = lane; ch < chunks; ch += ROW_THREADS) {
            let block = ch / CHUNKS;
            let c = ch % CHUNKS;
            let s = (block * BLOCK_ELEMS + chunk_starts(c)) / 4u;
            let x0 = input(s.x, scale);
            let x1 = input(s.y, scale);
            let base = row * p.row_words + block * BLOCK_WORDS;
            mat = select(seg, 0u, GLU != 0u);
            let v = dequant_chunk(base, c);
            acc += dot(v[0], x0) + dot(v[1], x1);
            if (GLU != 0u) {
                mat = 1u;
                let u = dequant_chunk(base, c);
                acc_up += dot(u[0], x0) + dot(u[1], x1);
            }
        }
    }
    // tree reduction of a row's parts in workgroup memory
    partial[lid.x] = acc;
    partial_up[lid.x] = acc_up;
    workgroupBarrier();
    for (var stride = ROW_THREADS / 2u; stride > 0u; stride /= 2u) {
        if (lane < stride) {
            partial[lid.x] += partial[lid.x + stride];
            partial_up[lid.x] += partial_up[lid.x + stride];
        }
        workgroupBarrier();
    }
    if (lane == 0u && row < p.seg_rows[seg]) {
        store(seg, row, partial[lid.x], partial_up[lid.x]);
    }
}
