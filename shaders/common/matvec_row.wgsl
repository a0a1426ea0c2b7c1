// matvec_row.wgsl: the bindings of the kernels that spread a row over ROW_THREADS
// invocations (matvec.wgsl, matvec_subgroup.wgsl, which declare the ROW_THREADS and GLU
// overrides), and one invocation's share of a row's dot products: chunks lane,
// lane + ROW_THREADS, … of row `row` of segment seg (with GLU, of w0 and w1), with x read
// through input (normed by scale). Returns (W·x part, up part: 0 without GLU).
// CPU twin: hearth_model::ops::matvec.

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

fn row_part(seg: u32, row: u32, lane: u32, scale: f32) -> vec2<f32> {
    var acc = 0.0;
    var acc_up = 0.0;
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
    return vec2<f32>(acc, acc_up);
}
