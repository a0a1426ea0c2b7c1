enable subgroups;

// matvec_subgroup.wgsl: matvec.wgsl (y = W·x for one token, up to three matrices of one
// format and width, accumulate, norm and GLU (SwiGLU or GeGLU) modes) for GPUs with
// subgroups. ROW_THREADS invocations share a row as in matvec.wgsl (common/matvec_row.wgsl),
// but a row's parts are added by subgroupAdd, not a tree in workgroup memory: one barrier
// instead of log2(ROW_THREADS) + 1, and the same for the norm's sum of squares.
// bindings: as matvec.wgsl: 0..2 w0, w1, w2 array<u32> · 3 x, 4 g array<vec4<f32>> ·
//           5..7 y0, y1, y2 array<f32> · 8 params (common/matvec_io.wgsl)
// dispatch: as matvec.wgsl: Σ_s ceil(rows_s / (WG_SIZE / ROW_THREADS)) workgroups of
//           WG_SIZE. ROW_THREADS (override) must be a multiple of the largest subgroup size
//           (the host picks max(32, subgroup_max_size)), so that each subgroup lies in one
//           row. Subgroups are taken to be runs of consecutive local_invocation_index (what
//           every driver does for a 1-D workgroup; the tests check it on each adapter).
// CPU twin: hearth_model::ops::{rms_norm, matvec, silu_mul, gelu_mul}
//           · test: crates/gpu/tests/matvec.rs

// bindings: common/matvec_row.wgsl

#include format

override WG_SIZE: u32 = 256u;
override ROW_THREADS: u32 = 32u;
override GLU: u32 = 0u;
// with GLU, 1: GeGLU (gelu(W0·x) · (W1·x)); 0: SwiGLU
override GELU: u32 = 0u;
// segments (weight bindings) the dispatch dots: 1..3
override SEGS: u32 = 3u;
// 1: x is RMS-normed first
override NORM: u32 = 0u;
// one sum per subgroup (at most WG_SIZE subgroups), for the rows and for the norm
var<workgroup> partial: array<vec2<f32>, WG_SIZE>;
var<workgroup> norm_part: array<f32, WG_SIZE>;

// The norm's 1 / rms(x), summed by the whole workgroup (call in uniform control flow).
fn norm_scale(lid: u32, sg_lane: u32, sg_size: u32) -> f32 {
    var ss = 0.0;
    for (var j = lid; j < p.cols / 4u; j += WG_SIZE) {
        let v = x[j];
        ss += dot(v, v);
    }
    let s = subgroupAdd(ss);
    if (sg_lane == 0u) {
        norm_part[lid / sg_size] = s;
    }
    workgroupBarrier();
    var total = 0.0;
    for (var i = 0u; i < WG_SIZE / sg_size; i++) {
        total += norm_part[i];
    }
    return inverseSqrt(total / f32(p.cols) + p.eps);
}

#include "common/matvec_io.wgsl"
#include "common/matvec_row.wgsl"

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(subgroup_invocation_id) sg_lane: u32,
        @builtin(subgroup_size) sg_size: u32) {
    let group = wid.x + wid.y * nwg.x;
    var scale = 1.0;
    if (NORM != 0u) {
        scale = norm_scale(lid, sg_lane, sg_size);
    }
    // SEGS 1: segment 0, a constant, so that wd and store pick their binding statically
    let seg = select(0u, u32(group >= p.seg_start.y) + u32(group >= p.seg_start.z), SEGS > 1u);
    let rows_per_group = WG_SIZE / ROW_THREADS;
    let lane = lid % ROW_THREADS;
    let row = (group - p.seg_start[seg]) * rows_per_group + lid / ROW_THREADS;
    var part = vec2<f32>(0.0);
    if (row < p.seg_rows[seg]) {
        part = row_part(seg, row, lane, scale);
    }
    let sum = subgroupAdd(part);
    if (sg_lane == 0u) {
        partial[lid / sg_size] = sum;
    }
    workgroupBarrier();
    if (lane == 0u && row < p.seg_rows[seg]) {
        // the row's subgroups, in order
        var total = vec2<f32>(0.0);
        let first = lid / sg_size;
        for (var i = 0u; i < ROW_THREADS / sg_size; i++) {
            total += partial[first + i];
        }
        store(seg, row, total.x, total.y);
    }
}
