// add.wgsl: x[i] += y[i mod y_len] — the residual connection when it is not fused into a
// matvec (y_len = n), or a projection's bias on every row (y the bias, y_len its width).
// bindings: 0 x array<f32> (n, read and written) · 1 y array<f32> (y_len; not x) · 2 params
// dispatch: ceil(n / WG_SIZE) workgroups of WG_SIZE (override, ≤ 256), one invocation per
//           element, laid out 2-D above 65535 (i = (wg.x + wg.y · num_workgroups.x) · WG_SIZE
//           + local index)
// CPU twins: hearth_model::ops::add, ops::add_bias · test: crates/gpu/tests/add.rs (bit
// for bit)

struct Params {
    n: u32,      // elements of x
    y_len: u32,  // elements of y, repeated along x
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

override WG_SIZE: u32 = 256u;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * WG_SIZE + lid.x;
    if (i >= p.n) {
        return;
    }
    x[i] += y[i % p.y_len];
}
