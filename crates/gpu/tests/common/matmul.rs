//! matmul.wgsl against `hearth_model::ops::matvec` of each token on dequantized weights.

use hearth_gguf::{GgmlType, dequantize_vec};
use hearth_gpu::{Gpu, GpuTensor, GpuWeights, kernels};
use hearth_model::ops;

use super::{Rng, random_weights};

/// f32 summation in another order than the CPU: allowed error relative to Σ|w·x|.
pub const REL_TOL: f32 = 1e-5;
/// matmul against matvec: each is within REL_TOL of the exact sum, so within twice that of
/// each other.
pub const MATVEC_REL_TOL: f32 = 2.0 * REL_TOL;

/// Token counts: one and seven (the small tile of ≤ 8 tokens: one, part of one), then
/// the 32-token tile's: two tiles, and a partial fourth.
pub const TOKEN_COUNTS: [usize; 4] = [1, 7, 64, 100];

/// A random problem: GGUF weight bytes, their dequantized values, X and a prior Y.
pub struct Case {
    pub ty: GgmlType,
    pub rows: usize,
    pub cols: usize,
    pub n_tokens: usize,
    pub bytes: Vec<u8>,
    pub wf: Vec<f32>,
    pub x: Vec<f32>,
    pub y0: Vec<f32>,
}

impl Case {
    pub fn new(ty: GgmlType, rows: usize, cols: usize, n_tokens: usize, seed: u64) -> Case {
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
    pub fn want(&self, accumulate: bool) -> Vec<f32> {
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
    pub fn magnitude(&self, t: usize, r: usize, accumulate: bool) -> f32 {
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
    pub async fn gpu(&self, g: &Gpu, accumulate: bool) -> Vec<f32> {
        let w = GpuWeights::upload(g, "w", self.ty, self.rows, self.cols, &self.bytes).unwrap();
        let xg = GpuTensor::from_slice(g, &self.x, "x");
        let yg = GpuTensor::from_slice(g, &self.y0, "y");
        let ops = kernels::matmul(g, &w, &xg, self.n_tokens, &yg, accumulate).unwrap();
        assert_eq!(ops.len(), w.parts.len(), "one dispatch per weight part");
        kernels::submit(g, &ops);
        yg.read(g).await.unwrap()
    }

    /// Asserts that `got` is within `tol` · Σ|w·x| of `want`, naming the first bad output.
    pub fn assert_close(&self, what: &str, got: &[f32], want: &[f32], tol: f32, accumulate: bool) {
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
    pub async fn check(&self, g: &Gpu, accumulate: bool) {
        let got = self.gpu(g, accumulate).await;
        let want = self.want(accumulate);
        self.assert_close("matmul vs CPU", &got, &want, REL_TOL, accumulate);
    }
}
