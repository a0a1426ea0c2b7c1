//! matmul.wgsl against its CPU twin, `hearth_model::ops::matvec` of each token on
//! dequantized weights, for every GPU weight format; token counts, rows and columns that
//! are not multiples of the tiles; weights split across buffers; and against matvec.wgsl
//! for a single token.

mod common;

use common::{Rng, gpu, random_weights};
use hearth_gguf::{GgmlType, dequantize_vec};
use hearth_gpu::{FORMATS, Gpu, GpuTensor, GpuWeights, kernels};
use hearth_model::ops;

/// f32 summation in another order than the CPU: allowed error relative to Σ|w·x|.
const REL_TOL: f32 = 1e-5;
/// matmul against matvec: each is within REL_TOL of the exact sum, so within twice that of
/// each other.
const MATVEC_REL_TOL: f32 = 2.0 * REL_TOL;

/// Token counts: one (decode-sized), fewer than a tile, two tiles, and a partial third.
const TOKEN_COUNTS: [usize; 4] = [1, 7, 64, 100];

/// A random problem: GGUF weight bytes, their dequantized values, X and a prior Y.
struct Case {
    ty: GgmlType,
    rows: usize,
    cols: usize,
    n_tokens: usize,
    bytes: Vec<u8>,
    wf: Vec<f32>,
    x: Vec<f32>,
    y0: Vec<f32>,
}

impl Case {
    fn new(ty: GgmlType, rows: usize, cols: usize, n_tokens: usize, seed: u64) -> Case {
        let mut rng = Rng::new(seed);
        let bytes = random_weights(&mut rng, ty, rows, cols);
        let wf = dequantize_vec(ty, &bytes).unwrap();
        let x = rng.vec(n_tokens * cols);
        let y0 = rng.vec(n_tokens * rows);
        Case {
            ty,
            rows,
            cols,
            n_tokens,
            bytes,
            wf,
            x,
            y0,
        }
    }

    /// The CPU twin: one matvec per token (plus the prior Y with `accumulate`).
    fn want(&self, accumulate: bool) -> Vec<f32> {
        let mut want = vec![0.0; self.n_tokens * self.rows];
        for (out, x) in want
            .chunks_exact_mut(self.rows)
            .zip(self.x.chunks_exact(self.cols))
        {
            ops::matvec(out, &self.wf, x);
        }
        if accumulate {
            ops::add(&mut want, &self.y0);
        }
        want
    }

    /// Σ|w·x| of output (t, r), plus |y0| with `accumulate`: the scale of its rounding error.
    fn magnitude(&self, t: usize, r: usize, accumulate: bool) -> f32 {
        let w = &self.wf[r * self.cols..][..self.cols];
        let x = &self.x[t * self.cols..][..self.cols];
        let dot: f32 = w.iter().zip(x).map(|(a, b)| (a * b).abs()).sum();
        dot + if accumulate {
            self.y0[t * self.rows + r].abs()
        } else {
            0.0
        }
    }

    /// Runs matmul.wgsl on the GPU and reads Y back.
    fn gpu(&self, g: &Gpu, accumulate: bool) -> Vec<f32> {
        let w = GpuWeights::upload(g, "w", self.ty, self.rows, self.cols, &self.bytes).unwrap();
        let xg = GpuTensor::from_slice(g, &self.x, "x");
        let yg = GpuTensor::from_slice(g, &self.y0, "y");
        let ops = kernels::matmul(g, &w, &xg, self.n_tokens, &yg, accumulate).unwrap();
        assert_eq!(ops.len(), w.parts.len(), "one dispatch per weight part");
        kernels::submit(g, &ops);
        yg.read_blocking(g).unwrap()
    }

    /// Asserts that `got` is within `tol` · Σ|w·x| of `want`, naming the first bad output.
    fn assert_close(&self, what: &str, got: &[f32], want: &[f32], tol: f32, accumulate: bool) {
        assert_eq!(got.len(), want.len());
        for t in 0..self.n_tokens {
            for r in 0..self.rows {
                let i = t * self.rows + r;
                let mag = self.magnitude(t, r, accumulate);
                let err = (got[i] - want[i]).abs();
                assert!(
                    err <= tol * mag + 1e-6,
                    "{what}: {:?} {}×{} weights, {} tokens, accumulate {accumulate}: \
                     token {t} row {r}: got {} want {} (|diff| {err}, Σ|w·x| {mag})",
                    self.ty,
                    self.rows,
                    self.cols,
                    self.n_tokens,
                    got[i],
                    want[i]
                );
            }
        }
    }

    /// The GPU against the CPU twin.
    fn check(&self, g: &Gpu, accumulate: bool) {
        let got = self.gpu(g, accumulate);
        let want = self.want(accumulate);
        self.assert_close("matmul vs CPU", &got, &want, REL_TOL, accumulate);
    }
}

#[test]
fn every_format_matches_the_cpu() {
    let g = gpu();
    for (i, &ty) in FORMATS.iter().enumerate() {
        let be = ty.block_elems().max(8);
        for (j, n_tokens) in TOKEN_COUNTS.into_iter().enumerate() {
            // rows: one full row tile and a partial one; columns: an odd number of blocks
            // (for 8-weight blocks, a partial step of chunks too)
            let case = Case::new(ty, 70, be * 7, n_tokens, (i * 10 + j) as u64);
            case.check(&g, false);
            case.check(&g, true);
        }
    }
}

#[test]
fn rows_and_tokens_below_one_tile() {
    let g = gpu();
    Case::new(GgmlType::Q8_0, 5, 32, 3, 40).check(&g, false);
    Case::new(GgmlType::F32, 1, 8, 1, 41).check(&g, true);
}

#[test]
fn split_buffers() {
    let mut g = gpu();
    // Q4_1: 5 words per 32 weights, rows padded to 16 bytes
    let row_bytes = (576 / 32 * 5 * 4usize).next_multiple_of(16) as u64;
    // parts of 9 rows (each below one row tile) and of 70 (a tile and a bit): each part
    // writes its own columns of Y for every token
    for (part_rows, seed) in [(9, 50), (70, 51)] {
        g.max_binding_bytes = part_rows * row_bytes;
        for n_tokens in [7, 100] {
            let case = Case::new(GgmlType::Q4_1, 200, 576, n_tokens, seed);
            let parts = GpuWeights::upload(&g, "w", case.ty, 200, 576, &case.bytes)
                .unwrap()
                .parts
                .len();
            assert_eq!(parts, 200usize.div_ceil(part_rows as usize));
            case.check(&g, false);
            case.check(&g, true);
        }
    }
}

#[test]
fn one_token_agrees_with_matvec() {
    let g = gpu();
    for (i, &ty) in FORMATS.iter().enumerate() {
        let case = Case::new(ty, 300, ty.block_elems().max(8) * 5, 1, 60 + i as u64);
        for accumulate in [false, true] {
            let got = case.gpu(&g, accumulate);
            let w = GpuWeights::upload(&g, "w", ty, case.rows, case.cols, &case.bytes).unwrap();
            let xg = GpuTensor::from_slice(&g, &case.x, "x");
            let yg = GpuTensor::from_slice(&g, &case.y0, "y");
            kernels::submit(&g, &kernels::matvec(&g, &w, &xg, &yg, accumulate).unwrap());
            let want: Vec<f32> = yg.read_blocking(&g).unwrap();
            case.assert_close("matmul vs matvec", &got, &want, MATVEC_REL_TOL, accumulate);
        }
    }
}

#[test]
fn bad_shapes_are_errors() {
    let g = gpu();
    let mut rng = Rng::new(9);
    let bytes = random_weights(&mut rng, GgmlType::Q8_0, 4, 64);
    let w = GpuWeights::upload(&g, "w", GgmlType::Q8_0, 4, 64, &bytes).unwrap();
    let x = GpuTensor::zeros(&g, 3 * 64, "x");
    let y = GpuTensor::zeros(&g, 3 * 4, "y");
    assert!(kernels::matmul(&g, &w, &x, 3, &y, false).is_ok());
    // x or y too short for the tokens
    assert!(kernels::matmul(&g, &w, &x, 4, &y, false).is_err());
    let short_y = GpuTensor::zeros(&g, 3 * 4 - 1, "y");
    assert!(kernels::matmul(&g, &w, &x, 3, &short_y, false).is_err());
    // no tokens: nothing to dispatch
    assert!(
        kernels::matmul(&g, &w, &x, 0, &y, false)
            .unwrap()
            .is_empty()
    );
}
