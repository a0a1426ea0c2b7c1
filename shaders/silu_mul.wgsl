// silu_mul.wgsl: out = silu(gate) · up elementwise, silu(z) = z / (1 + e^(−z)) — the SwiGLU
// of the feed-forward block, between the gate/up and the down projections; with GELU,
// out = gelu(gate) · up, GELU's tanh form (GeGLU: Gemma; common/gelu.wgsl).
// bindings: 0 gate array<f32> (n) · 1 up array<f32> (n) · 2 out array<f32> (n; may not be
//           gate or up) · 3 params
// dispatch: ceil(n / WG_SIZE) workgroups of WG_SIZE (override, ≤ 256), one invocation per
//           element, laid out 2-D above 65535 (i = (wg.x + wg.y · num_workgroups.x) · WG_SIZE
//           + local index). GELU (override, 0 or 1) picks the activation.
// CPU twin: hearth_model::ops::silu_mul, and ops::gelu_mul with GELU
//           · test: crates/gpu/tests/silu_mul.rs

#include "common/silu.wgsl"
#include "common/gelu.wgsl"

struct Params {
    n: u32,  // elements
}

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

override WG_SIZE: u32 = 256u;
// 1: gelu(gate) · up; 0: silu(gate) · up
override GELU: u32 = 0u;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * WG_SIZE + lid.x;
    if (i >= p.n) {
        return;
    }
    let z = gate[i];
    var a = silu(z);
    if (GELU != 0u) {
        a = gelu(z);
    }
    out[i] = a * up[i];
}
