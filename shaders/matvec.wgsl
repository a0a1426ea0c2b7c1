// matvec.wgsl: y = W·x for one token (decode), W in any weight format (see formats/), up to
// three matrices of one format and width in one dispatch (q, k and v; or the parts of a
// split matrix), each writing its own y; with `accumulate`, y += W·x (the residual add
// fused into the output projections); with NORM, x is RMS-normed first (x / rms(x) · g,
// rms_norm.wgsl folded in); with GLU, y = silu(W0·x) · (W1·x) (gate and up with SwiGLU),
// or with GLU and GELU y = gelu(W0·x) · (W1·x) (GeGLU, common/gelu.wgsl).
// bindings: 0..2 w0, w1, w2 array<u32> (rows × row_words, GPU blocks; unused ones bound to
//           w0) · 3 x array<vec4<f32>> (cols / 4) · 4 g array<vec4<f32>> (cols / 4: the norm
//           weight; x when not normed) · 5..7 y0, y1, y2 array<f32> (y_offset + rows; unused
//           ones bound to y0) · 8 params
// dispatch: Σ_s ceil(rows_s / (WG_SIZE / ROW_THREADS)) workgroups of WG_SIZE (overrides;
//           WG_SIZE ≤ 256 a power of two, ROW_THREADS a power of two dividing it), segment s
//           from workgroup seg_start[s] on, laid out 2-D past 65535 (group = wg.x + wg.y ·
//           num_workgroups.x). ROW_THREADS invocations share a row (coalesced loads on GPUs),
//           striding over its 8-weight chunks (common/matvec_row.wgsl), and add their parts
//           in workgroup memory. GLU (override, 0 or 1): one segment whose rows dot both w0
//           and w1; GELU (0 or 1) picks its activation. SEGS (segments in the dispatch: 1
//           or 3) and NORM (0 or 1) are overrides too. GPUs with subgroups use
//           matvec_subgroup.wgsl, CPU drivers matvec_rowwise.wgsl.
// CPU twin: hearth_model::ops::{rms_norm, matvec, silu_mul, gelu_mul}
//           · test: crates/gpu/tests/matvec.rs

// bindings: common/matvec_row.wgsl

#include format

override WG_SIZE: u32 = 64u;
override ROW_THREADS: u32 = 64u;
override GLU: u32 = 0u;
// with GLU, 1: GeGLU (gelu(W0·x) · (W1·x)); 0: SwiGLU
override GELU: u32 = 0u;
// segments (weight bindings) the dispatch dots: 1..3
override SEGS: u32 = 3u;
// 1: x is RMS-normed first
override NORM: u32 = 0u;
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
#include "common/matvec_row.wgsl"

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let group = wid.x + wid.y * nwg.x;
    var scale = 1.0;
    if (NORM != 0u) {
        scale = norm_scale(lid.x);
    }
    // SEGS 1: segment 0, a constant, so that wd and store pick their binding statically
    let seg = select(0u, u32(group >= p.seg_start.y) + u32(group >= p.seg_start.z), SEGS > 1u);
    let rows_per_group = WG_SIZE / ROW_THREADS;
    let lane = lid.x % ROW_THREADS;
    let row = (group - p.seg_start[seg]) * rows_per_group + lid.x / ROW_THREADS;
    // each invocation dots a strided share of the row's 8-weight chunks with x
    var part = vec2<f32>(0.0);
    if (row < p.seg_rows[seg]) {
        part = row_part(seg, row, lane, scale);
    }
    // tree reduction of a row's parts in workgroup memory
    partial[lid.x] = part.x;
    partial_up[lid.x] = part.y;
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
