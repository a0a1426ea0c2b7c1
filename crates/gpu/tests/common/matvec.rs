//! matvec.wgsl / matvec_subgroup.wgsl / matvec_rowwise.wgsl against `hearth_model::ops::matvec` on dequantized
//! weights.

use hearth_gguf::{GgmlType, dequantize_vec};
use hearth_gpu::kernels::Glu;
use hearth_gpu::{Gpu, GpuTensor, GpuWeights, kernels};
use hearth_model::ops;

use super::{Rng, random_weights};

/// f32 summation in another order than the CPU: allowed error relative to Σ|w·x|.
pub const REL_TOL: f32 = 1e-5;

/// One way the matvec can run: the [`Gpu`] settings that pick it.
#[derive(Clone, Copy, Debug)]
pub struct Path {
    pub row_threads: u32,
    pub rows: u32,
    pub subgroups: bool,
}

const fn path(row_threads: u32, rows: u32, subgroups: bool) -> Path {
    Path {
        row_threads,
        rows,
        subgroups,
    }
}

/// Every path, whatever the adapter would pick: matvec.wgsl with rows shared by 32, 8 or 2
/// invocations, matvec_subgroup.wgsl with rows of 32, 8 and 2 invocations (raised to the
/// adapter's largest subgroup: on lavapipe 8 is one subgroup per row and 32 four; 4 and 8
/// on SwiftShader), and matvec_rowwise.wgsl with 1, 2 or 4 rows per invocation.
pub const PATHS: &[Path] = &[
    path(32, 1, false),
    path(8, 1, false),
    path(2, 1, false),
    path(32, 1, true),
    path(8, 1, true),
    path(2, 1, true),
    path(1, 1, false),
    path(1, 2, false),
    path(1, 4, false),
];

/// The paths the fused checks run, every format each: one of each kernel, and rowwise
/// with 1 and 4 rows (each fusion is a pipeline of its own, and a rowwise K-quant pipeline
/// takes lavapipe a minute to compile; the lane splits of PATHS do not depend on fusion).
pub const FUSED_PATHS: &[Path] = &[
    path(32, 1, false),
    path(32, 1, true),
    path(1, 1, false),
    path(1, 4, false),
];

/// [`PATHS`] on `g`, which must have subgroups (lavapipe and SwiftShader do: a device
/// without them would leave matvec_subgroup.wgsl untested, so it fails).
pub fn paths(g: &Gpu) -> &'static [Path] {
    has_subgroups(g);
    PATHS
}

/// [`FUSED_PATHS`] on `g`, which must have subgroups.
pub fn fused_paths(g: &Gpu) -> &'static [Path] {
    has_subgroups(g);
    FUSED_PATHS
}

fn has_subgroups(g: &Gpu) {
    assert!(
        g.subgroups,
        "the adapter {} has no subgroups: matvec_subgroup.wgsl would go untested",
        g.adapter_name()
    );
}

impl Path {
    /// Makes `g` run this path.
    pub fn set(self, g: &mut Gpu) {
        g.matvec_row_threads = self.row_threads;
        g.matvec_rows = self.rows;
        g.subgroups = self.subgroups;
    }
}

/// The path `g` runs, for messages.
pub fn path_of(g: &Gpu) -> Path {
    path(g.matvec_row_threads, g.matvec_rows, g.subgroups)
}

/// A random `rows` × `cols` matvec of type `ty` (adding to a random y with `accumulate`)
/// on the GPU against the CPU, row by row within [`REL_TOL`] · Σ|w·x|.
pub async fn check(g: &Gpu, ty: GgmlType, rows: usize, cols: usize, seed: u64, accumulate: bool) {
    let mut rng = Rng::new(seed);
    let bytes = random_weights(&mut rng, ty, rows, cols);
    let x = rng.vec(cols);
    let y0 = rng.vec(rows);
    let wf = dequantize_vec(ty, &bytes).unwrap();
    let mut want = vec![0.0; rows];
    ops::matvec(&mut want, &wf, &x);
    if accumulate {
        ops::add(&mut want, &y0);
    }

    let w = GpuWeights::upload(g, "w", ty, rows, cols, &bytes).unwrap();
    let xg = GpuTensor::from_slice(g, &x, "x");
    let yg = GpuTensor::from_slice(g, &y0, "y");
    kernels::submit(g, &kernels::matvec(g, &w, &xg, &yg, accumulate).unwrap());
    let got: Vec<f32> = yg.read(g).await.unwrap();

    let path = path_of(g);
    for r in 0..rows {
        let mag: f32 = wf[r * cols..][..cols]
            .iter()
            .zip(&x)
            .map(|(a, b)| (a * b).abs())
            .sum::<f32>()
            + if accumulate { y0[r].abs() } else { 0.0 };
        let err = (got[r] - want[r]).abs();
        assert!(
            err <= REL_TOL * mag + 1e-6,
            "matvec {ty:?} {rows}×{cols} {path:?} row {r}: got {} want {} \
             (|diff| {err}, Σ|w·x| {mag})",
            got[r],
            want[r]
        );
    }
}

/// What a fused matvec check runs: matrices of `rows` each (two for GLU: gate and up, then
/// SwiGLU or GeGLU), with the norm before them, accumulating into random y.
pub struct Fusion<'a> {
    pub rows: &'a [usize],
    pub cols: usize,
    pub norm: bool,
    pub glu: Option<Glu>,
    pub accumulate: bool,
}

/// `kernels::matvec_fused` on random data against the twins in turn (`ops::rms_norm`,
/// `ops::matvec` per matrix, `ops::silu_mul` or `ops::gelu_mul`), each output within
/// [`REL_TOL`] of the magnitudes that went into it.
pub async fn check_fused(g: &Gpu, ty: GgmlType, f: &Fusion<'_>, seed: u64) {
    let mut rng = Rng::new(seed);
    let cols = f.cols;
    let x: Vec<f32> = rng.vec(cols).iter().map(|v| 3.0 * v).collect();
    let nw: Vec<f32> = rng.vec(cols);
    let eps = 1e-5;
    let mut xn = x.clone();
    if f.norm {
        ops::rms_norm(&mut xn, &x, &nw, eps);
    }
    let mats: Vec<(Vec<u8>, Vec<f32>)> = f
        .rows
        .iter()
        .map(|&rows| {
            let bytes = random_weights(&mut rng, ty, rows, cols);
            let wf = dequantize_vec(ty, &bytes).unwrap();
            (bytes, wf)
        })
        .collect();
    // each matrix's exact product and Σ|w·x| per row
    let products: Vec<(Vec<f32>, Vec<f32>)> = mats
        .iter()
        .zip(f.rows)
        .map(|((_, wf), &rows)| {
            let mut y = vec![0.0; rows];
            ops::matvec(&mut y, wf, &xn);
            let mag = (0..rows)
                .map(|r| {
                    let row = &wf[r * cols..][..cols];
                    row.iter().zip(&xn).map(|(a, b)| (a * b).abs()).sum()
                })
                .collect();
            (y, mag)
        })
        .collect();

    let ws: Vec<GpuWeights> = mats
        .iter()
        .zip(f.rows)
        .map(|((bytes, _), &rows)| GpuWeights::upload(g, "w", ty, rows, cols, bytes).unwrap())
        .collect();
    let xg = GpuTensor::from_slice(g, &x, "x");
    let ng = GpuTensor::from_slice(g, &nw, "norm");
    let input = kernels::MatvecIn {
        x: &xg,
        norm: f.norm.then_some((&ng, eps)),
    };
    let what = format!(
        "fused matvec {ty:?} rows {:?} × {cols}, norm {}, glu {:?}, accumulate {}, \
         {:?}",
        f.rows,
        f.norm,
        f.glu,
        f.accumulate,
        path_of(g)
    );
    if let Some(act) = f.glu {
        let (gate, up) = (&products[0], &products[1]);
        let yg = GpuTensor::zeros(g, f.rows[0], "y");
        let out = kernels::MatvecOut::Glu {
            act,
            gate: &ws[0],
            up: &ws[1],
            y: &yg,
        };
        kernels::submit(g, &kernels::matvec_fused(g, input, out).unwrap());
        let got: Vec<f32> = yg.read(g).await.unwrap();
        let mut want = vec![0.0; f.rows[0]];
        match act {
            Glu::Silu => ops::silu_mul(&mut want, &gate.0, &up.0),
            Glu::Gelu => ops::gelu_mul(&mut want, &gate.0, &up.0),
        }
        for r in 0..f.rows[0] {
            // silu' is within [−0.1, 1.1] and gelu' within [−0.13, 1.13]: the gate's error
            // moves the output by at most 1.2 × its size × |up|; the twin's
            // 1 + tanh(u) loses up to 2⁻²⁴ of 1 (|gate · up| · 6e-8) where tanh(u) ≈ −1
            let (gv, uv) = (gate.0[r], up.0[r]);
            let a = match act {
                Glu::Silu => gv / (1.0 + (-gv).exp()),
                Glu::Gelu => ops::gelu(gv),
            };
            let tol = REL_TOL * (1.2 * gate.1[r] * uv.abs() + a.abs() * up.1[r])
                + 1e-6 * want[r].abs()
                + 1e-6 * (gv * uv).abs()
                + 1e-6;
            let err = (got[r] - want[r]).abs();
            assert!(
                err <= tol,
                "{what} row {r}: got {} want {} (gate {gv}, up {uv}, |diff| {err} > {tol})",
                got[r],
                want[r]
            );
        }
        return;
    }
    let ys: Vec<Vec<f32>> = f.rows.iter().map(|&rows| rng.vec(rows)).collect();
    let yg: Vec<GpuTensor> = ys
        .iter()
        .map(|y| GpuTensor::from_slice(g, y, "y"))
        .collect();
    let outs: Vec<(&GpuWeights, &GpuTensor)> = ws.iter().zip(&yg).collect();
    let out = kernels::MatvecOut::Rows {
        outs: &outs,
        accumulate: f.accumulate,
    };
    kernels::submit(g, &kernels::matvec_fused(g, input, out).unwrap());
    for (m, ((want, mag), (y0, yg))) in products.iter().zip(ys.iter().zip(&yg)).enumerate() {
        let got: Vec<f32> = yg.read(g).await.unwrap();
        for r in 0..want.len() {
            let (want, mag) = match f.accumulate {
                true => (want[r] + y0[r], mag[r] + y0[r].abs()),
                false => (want[r], mag[r]),
            };
            let err = (got[r] - want).abs();
            assert!(
                err <= REL_TOL * mag + 1e-6,
                "{what} matrix {m} row {r}: got {} want {want} (|diff| {err}, Σ|w·x| {mag})",
                got[r]
            );
        }
    }
}

/// The fusions each check runs: q/k/v-like rows with the norm, gate and up with the norm
/// and SwiGLU, two accumulating matrices without it.
pub const FUSIONS: &[(&[usize], bool, Option<Glu>, bool)] = &[
    (&[37, 5, 100], true, None, false),
    (&[70, 70], true, Some(Glu::Silu), false),
    (&[19, 300], false, None, true),
];

/// GeGLU's fusions (Gemma's gate and up): with the norm and without. The activation does
/// not depend on the weight format, so a few formats run them (each is a pipeline per path).
pub const GEGLU_FUSIONS: &[(&[usize], bool, Option<Glu>, bool)] = &[
    (&[70, 70], true, Some(Glu::Gelu), false),
    (&[33, 33], false, Some(Glu::Gelu), false),
];

/// The formats the GeGLU fusions run in: a plain float, a block format with a min, and
/// Q8_0 (what Gemma's published GGUFs mostly hold).
pub const GEGLU_FORMATS: &[GgmlType] = &[GgmlType::F16, GgmlType::Q4_1, GgmlType::Q8_0];
