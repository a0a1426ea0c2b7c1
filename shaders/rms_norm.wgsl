// rms_norm.wgsl: out[t, :] = x[t, :] / sqrt(mean(x[t, :]²) + eps) · w, for each token t;
// with ACCUMULATE, out[t, :] += that instead: a sublayer's post-norm and the residual add
// in one pass (Backend::norm_add, Gemma's post-norms: the residual is out, the sublayer's
// output x).
// bindings: 0 x array<f32> (n_tokens × dim) · 1 w array<f32> (dim) · 2 out array<f32>
//           (n_tokens × dim; not x) · 3 params
// dispatch: one workgroup of WG_SIZE (override, a power of two ≤ 256) per token, laid out
//           2-D when n_tokens > 65535 (token = wg.x + wg.y · num_workgroups.x).
//           ACCUMULATE (override, 0 or 1) picks out = … or out += ….
// CPU twin: hearth_model::ops::rms_norm, and ops::norm_add with ACCUMULATE
//           · test: crates/gpu/tests/rms_norm.rs

struct Params {
    dim: u32,       // floats per row
    n_tokens: u32,  // rows
    eps: f32,       // added to the mean square, inside the square root
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

override WG_SIZE: u32 = 256u;
// 1: out += the normed row (out is read, so it must hold the residual); 0: out = it
override ACCUMULATE: u32 = 0u;
var<workgroup> partial: array<f32, WG_SIZE>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = wid.x + wid.y * nwg.x;
    if (t >= p.n_tokens) {
        return;
    }
    let row = t * p.dim;
    // each invocation sums the squares of a strided share of the row
    var ss = 0.0;
    for (var j = lid.x; j < p.dim; j += WG_SIZE) {
        let v = x[row + j];
        ss += v * v;
    }
    // tree reduction in workgroup memory; the last barrier publishes partial[0] to all
    partial[lid.x] = ss;
    workgroupBarrier();
    for (var stride = WG_SIZE / 2u; stride > 0u; stride /= 2u) {
        if (lid.x < stride) {
            partial[lid.x] += partial[lid.x + stride];
        }
        workgroupBarrier();
    }
    let scale = inverseSqrt(partial[0] / f32(p.dim) + p.eps);
    for (var j = lid.x; j < p.dim; j += WG_SIZE) {
        let v = x[row + j] * scale * w[j];
        if (ACCUMULATE != 0u) {
            out[row + j] += v;
        } else {
            out[row + j] = v;
        }
    }
}
