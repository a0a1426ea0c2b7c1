// matvec_io.wgsl: the parameters, input and output of the matvec kernels (matvec.wgsl,
// matvec_subgroup.wgsl, matvec_rowwise.wgsl), which declare x, g, y0..y2, p: Params and the
// GLU, GELU and NORM overrides. input: x, or x RMS-normed (x · scale · g); store: segment seg's
// row, with the GLU (SwiGLU, silu(W0·x) · (W1·x); with GELU, GeGLU, gelu(W0·x) · (W1·x)) and
// accumulate applied. CPU twin: hearth_model::ops::{rms_norm, silu_mul, gelu_mul}.

struct Params {
    cols: u32,              // weights per row (rowwise: at most 4 · X_VEC4)
    row_words: u32,         // u32 words per row (rowwise: a multiple of 4)
    accumulate: u32,        // 1: y += W·x, 0: y = W·x
    eps: f32,               // the norm's (NORM override 1: x / sqrt(mean(x²) + eps) · g)
    seg_rows: vec4<u32>,    // rows of segment s (.w unused)
    seg_start: vec4<u32>,   // first workgroup of segment s (0xffffffff past the last)
    y_offset: vec4<u32>,    // index in y_s of segment s's first row
}

#include "common/silu.wgsl"
#include "common/gelu.wgsl"

// vec4 i of the input: x, or normed x
fn input(i: u32, scale: f32) -> vec4<f32> {
    return select(x[i], x[i] * scale * g[i], NORM != 0u);
}

fn store(seg: u32, row: u32, acc: f32, up: f32) {
    let o = p.y_offset[seg] + row;
    var v = acc;
    if (GLU != 0u) {
        var a = silu(acc);
        if (GELU != 0u) {
            a = gelu(acc);
        }
        v = a * up;
    }
    let add = p.accumulate != 0u;
    switch seg {
        case 1u: { y1[o] = select(v, y1[o] + v, add); }
        case 2u: { y2[o] = select(v, y2[o] + v, add); }
        default: { y0[o] = select(v, y0[o] + v, add); }
    }
}
