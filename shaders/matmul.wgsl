// matmul.wgsl: Y = X·Wᵀ for many tokens (prefill): Y[t, r] = Σ_c W[r, c]·X[t, c], W in any
// weight format (see formats/); with `accumulate`, Y += X·Wᵀ (the residual add fused into
// the output projections). Tiled: a workgroup computes TILE_T tokens × TILE_R rows of Y,
// stepping along the row TILE_K 8-weight chunks at a time; each step dequantizes its W tile
// and loads the matching X tile into workgroup memory, and each invocation accumulates
// 4 tokens × 4 rows in registers.
// bindings: 0 w array<u32> (rows × row_words, GPU blocks) · 1 x array<vec4<f32>>
//           (n_tokens × cols / 4) · 2 y array<f32> (n_tokens × y_stride) · 3 params
// dispatch: (ceil(rows / TILE_R), ceil(n_tokens / TILE_T)) workgroups of
//           (TILE_R / 4, TILE_T / 4) invocations; TILE_T, TILE_R (multiples of 4) and
//           TILE_K are overrides, chosen so that a workgroup has ≤ 256 invocations and
//           its tiles take 32·TILE_K·(TILE_R + TILE_T) ≤ 16384 bytes. A matrix split over
//           several buffers is one dispatch per part, each writing its columns of Y.
// CPU twin: hearth_model::ops::matvec of each token · test: crates/gpu/tests/matmul.rs

struct Params {
    rows: u32,        // rows of W in this part
    cols: u32,        // weights per row
    row_words: u32,   // u32 words per row
    n_tokens: u32,    // rows of X and of Y
    y_offset: u32,    // column of Y of this part's first row
    y_stride: u32,    // floats per row of Y (the rows of the whole matrix)
    accumulate: u32,  // 1: Y += X·Wᵀ, 0: Y = X·Wᵀ
}

@group(0) @binding(0) var<storage, read> w: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// the formats read the weights through wd
fn wd(i: u32) -> u32 {
    return w[i];
}

#include format

override TILE_T: u32 = 32u;  // tokens per workgroup
override TILE_R: u32 = 64u;  // rows of W per workgroup
override TILE_K: u32 = 4u;   // 8-weight chunks per step along the row
// Outputs per invocation: MICRO_T tokens × MICRO_R rows (one vec4 of accumulators per token).
const MICRO_T: u32 = 4u;
const MICRO_R: u32 = 4u;

// The tiles are chunk-major and hold chunks, not columns: ws[(2·kc + h)·TILE_R + r] is
// half h of chunk kc of tile row r, and xs[(2·kc + h)·TILE_T + t] the four x values at the
// same columns for tile token t. Any block format's chunk layout thus becomes a plain dot
// product, and neighbouring invocations read neighbouring vec4s.
var<workgroup> ws: array<vec4<f32>, 2u * TILE_K * TILE_R>;
var<workgroup> xs: array<vec4<f32>, 2u * TILE_K * TILE_T>;

@compute @workgroup_size(TILE_R / MICRO_R, TILE_T / MICRO_T)
fn main(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32,
        @builtin(workgroup_id) wid: vec3<u32>) {
    let wg_r = TILE_R / MICRO_R;
    let wg_t = TILE_T / MICRO_T;
    let n_inv = wg_r * wg_t;
    let r0 = wid.x * TILE_R;
    let t0 = wid.y * TILE_T;
    let chunks = p.cols / 8u;
    let x_row = p.cols / 4u;
    // acc[i][j]: token t0 + lid.y + i·wg_t, row r0 + lid.x + j·wg_r
    var acc: array<vec4<f32>, MICRO_T>;  // zero-initialized
    for (var k0 = 0u; k0 < chunks; k0 += TILE_K) {
        // W tile: TILE_R rows × TILE_K chunks, dequantized; zeros past the edges
        for (var i = li; i < TILE_R * TILE_K; i += n_inv) {
            let r = i / TILE_K;
            let kc = i % TILE_K;
            let ch = k0 + kc;
            var v = array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0));
            if (r0 + r < p.rows && ch < chunks) {
                v = dequant_chunk((r0 + r) * p.row_words + ch / CHUNKS * BLOCK_WORDS, ch % CHUNKS);
            }
            ws[2u * kc * TILE_R + r] = v[0];
            ws[(2u * kc + 1u) * TILE_R + r] = v[1];
        }
        // X tile: the same columns of TILE_T tokens
        for (var i = li; i < TILE_T * TILE_K; i += n_inv) {
            let t = i / TILE_K;
            let kc = i % TILE_K;
            let ch = k0 + kc;
            var a = vec4<f32>(0.0);
            var b = vec4<f32>(0.0);
            if (t0 + t < p.n_tokens && ch < chunks) {
                let s = (ch / CHUNKS * BLOCK_ELEMS + chunk_starts(ch % CHUNKS)) / 4u;
                let base = (t0 + t) * x_row;
                a = x[base + s.x];
                b = x[base + s.y];
            }
            xs[2u * kc * TILE_T + t] = a;
            xs[(2u * kc + 1u) * TILE_T + t] = b;
        }
        workgroupBarrier();
        // MICRO_T tokens × MICRO_R rows per invocation, accumulated in registers
        for (var k = 0u; k < 2u * TILE_K; k++) {
            let wr = k * TILE_R + lid.x;
            let w0 = ws[wr];
            let w1 = ws[wr + wg_r];
            let w2 = ws[wr + 2u * wg_r];
            let w3 = ws[wr + 3u * wg_r];
            for (var i = 0u; i < MICRO_T; i++) {
                let xv = xs[k * TILE_T + lid.y + i * wg_t];
                acc[i] += vec4<f32>(dot(xv, w0), dot(xv, w1), dot(xv, w2), dot(xv, w3));
            }
        }
        workgroupBarrier();
    }
    // write the tile's outputs that fall inside Y
    for (var i = 0u; i < MICRO_T; i++) {
        let t = t0 + lid.y + i * wg_t;
        if (t >= p.n_tokens) {
            break;
        }
        for (var j = 0u; j < MICRO_R; j++) {
            let r = r0 + lid.x + j * wg_r;
            if (r < p.rows) {
                let o = t * p.y_stride + p.y_offset + r;
                if (p.accumulate != 0u) {
                    y[o] += acc[i][j];
                } else {
                    y[o] = acc[i][j];
                }
            }
        }
    }
}
