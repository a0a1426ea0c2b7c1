// stream_read.wgsl: the roofline. Reads a large buffer once, as matvec reads weights
// (coalesced vec4<u32> loads, one workgroup per stretch), and writes one sum per
// invocation (1/64 of the bytes read) so the reads cannot be optimised away. `hearth bench` divides bytes by time: the bandwidth
// a weight-streaming kernel can at best reach on this adapter.
// bindings: 0 src array<vec4<u32>> (n_vec4) · 1 out array<u32> (one per invocation) · 2 params
// dispatch: ceil(n_vec4 / (WG_SIZE · PER_THREAD)) workgroups of WG_SIZE, 2-D past 65535
// CPU twin: wrapping u32 sums (crates/gpu/tests/stream_read.rs)

struct Params {
    n_vec4: u32,  // vec4<u32> elements in src
}

@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

override WG_SIZE: u32 = 256u;
override PER_THREAD: u32 = 16u;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let group = wid.x + wid.y * nwg.x;
    let start = group * WG_SIZE * PER_THREAD + lid.x;
    var acc = vec4<u32>(0u);
    for (var k = 0u; k < PER_THREAD; k++) {
        let i = start + k * WG_SIZE;
        if (i < p.n_vec4) {
            acc += src[i];
        }
    }
    // u32 sums wrap identically on the CPU
    out[group * WG_SIZE + lid.x] = acc.x + acc.y + acc.z + acc.w;
}
