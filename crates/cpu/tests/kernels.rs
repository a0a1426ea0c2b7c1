//! Every weight format's kernels (portable and SIMD) against the f32 math on the same
//! numbers: the weights dequantized by hearth-gguf (itself checked bit for bit against the
//! `gguf` package) dotted with the 8-bit activations dequantized, in f64. Sizes are not
//! multiples of the row tiles or thread shares.

use hearth_cpu::QMatrix;

// In a browser (scripts/test-browser-kernels) the same tests run on the simd128 kernels.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);
use hearth_cpu::act::{self, BlockQ16, QK};
use hearth_cpu::kernel::{self, Input, Out};
use hearth_gguf::{GgmlType, dequantize_vec};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

/// Byte offsets of the f16 scales in one block of `ty` (set to sane values so the
/// random blocks hold finite weights).
fn scale_offsets(ty: GgmlType) -> &'static [usize] {
    match ty {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => &[0],
        GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4_K | GgmlType::Q5_K => &[0, 2],
        GgmlType::Q2_K => &[80, 82],
        GgmlType::Q3_K => &[108],
        GgmlType::Q6_K => &[208],
        _ => &[],
    }
}

/// Random weights of `ty`: random quant bytes with small finite scales.
fn random_matrix(rng: &mut Rng, ty: GgmlType, rows: usize, cols: usize) -> Vec<u8> {
    let n_blocks = rows * cols / ty.block_elems();
    let bb = ty.block_bytes();
    let mut bytes = Vec::with_capacity(n_blocks * bb);
    for _ in 0..n_blocks {
        match ty {
            GgmlType::F32 => bytes.extend(rng.unit().to_le_bytes()),
            GgmlType::F16 => bytes.extend(half::f16::from_f32(rng.unit()).to_le_bytes()),
            GgmlType::BF16 => bytes.extend(half::bf16::from_f32(rng.unit()).to_le_bytes()),
            _ => {
                let start = bytes.len();
                bytes.extend((0..bb).map(|_| rng.next() as u8));
                for &off in scale_offsets(ty) {
                    let s = half::f16::from_f32(rng.unit() * 0.05);
                    bytes[start + off..start + off + 2].copy_from_slice(&s.to_le_bytes());
                }
            }
        }
    }
    bytes
}

const TYPES: [GgmlType; 13] = [
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
];

/// Runs `m` over `n` activation rows and checks every output against f64 math on the
/// dequantized weights and the activations the kernel saw (16-bit-dequantized for integer
/// formats, as given for float ones).
fn check(ty: GgmlType, rows: usize, cols: usize, n: usize, simd: bool) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (ty as u64) << 8 ^ n as u64);
    let bytes = random_matrix(&mut rng, ty, rows, cols);
    let w = dequantize_vec(ty, &bytes).unwrap();
    let m = QMatrix::new(ty, rows, cols, bytes).unwrap();
    let x: Vec<f32> = (0..n * cols).map(|_| rng.unit()).collect();
    let blocks = cols.div_ceil(QK);
    let mut xq = vec![BlockQ16::default(); n * blocks];
    for (xr, qr) in x.chunks_exact(cols).zip(xq.chunks_exact_mut(blocks)) {
        act::quantize(xr, qr);
    }
    // what the kernel multiplies: 16-bit values for integer formats
    let seen: Vec<f32> = if m.wants_q16() {
        xq.iter()
            .flat_map(|b| b.qs.map(|q| b.d * q as f32))
            .collect()
    } else {
        x.clone()
    };
    kernel::set_simd(simd);
    let mut out = vec![0.5f32; n * rows];
    let o = Out {
        ptr: out.as_mut_ptr(),
        stride: rows,
        accumulate: true,
    };
    let input = Input {
        f32: &x,
        qx: &xq,
        n,
        cols,
    };
    // two calls over two row ranges, as two threads would
    unsafe {
        m.rows_into(0..rows / 3, input, o);
        m.rows_into(rows / 3..rows, input, o);
    }
    kernel::set_simd(true);
    for t in 0..n {
        for r in 0..rows {
            let wr = &w[r * cols..(r + 1) * cols];
            let stride = if m.wants_q16() { blocks * QK } else { cols };
            let xr = &seen[t * stride..][..cols];
            let want: f64 = 0.5
                + wr.iter()
                    .zip(xr)
                    .map(|(&a, &b)| a as f64 * b as f64)
                    .sum::<f64>();
            let scale: f64 = wr
                .iter()
                .zip(xr)
                .map(|(&a, &b)| (a as f64 * b as f64).abs())
                .sum::<f64>();
            let got = out[t * rows + r] as f64;
            assert!(
                (got - want).abs() <= 1e-5 * scale + 1e-6,
                "{ty:?} simd={simd} n={n}: out[{t}][{r}] = {got}, want {want} (scale {scale})"
            );
        }
    }
}

#[test]
fn every_format_matches_f64_math_portable_and_simd() {
    for ty in TYPES {
        for n in [1, 3, 4, 9] {
            for simd in [false, true] {
                check(ty, 37, 512, n, simd);
            }
        }
    }
}

#[test]
fn float_formats_take_any_width() {
    for ty in [GgmlType::F32, GgmlType::F16, GgmlType::BF16] {
        for simd in [false, true] {
            check(ty, 19, 77, 5, simd);
        }
    }
}

/// Every f16 bit pattern (subnormals, infinities and NaNs too) read by the kernels as
/// hearth-gguf dequantizes it: row h is [h, 0, 0, 0, 0], dotted with ones (the value
/// itself, but inf · 1 + 0 stays inf and NaN stays NaN).
#[test]
fn every_f16_value_is_read_exactly() {
    let rows = 1 << 16;
    let cols = 5;
    let mut bytes = vec![0u8; rows * cols * 2];
    for h in 0..rows {
        bytes[h * cols * 2..][..2].copy_from_slice(&(h as u16).to_le_bytes());
    }
    let want = dequantize_vec(GgmlType::F16, &bytes).unwrap();
    let m = QMatrix::new(GgmlType::F16, rows, cols, bytes).unwrap();
    let x = vec![1f32; cols];
    for simd in [false, true] {
        kernel::set_simd(simd);
        let mut out = vec![0f32; rows];
        let o = Out {
            ptr: out.as_mut_ptr(),
            stride: rows,
            accumulate: false,
        };
        let input = Input {
            f32: &x,
            qx: &[],
            n: 1,
            cols,
        };
        unsafe { m.rows_into(0..rows, input, o) };
        kernel::set_simd(true);
        for h in 0..rows {
            let (got, want) = (out[h], want[h * cols]);
            assert!(
                // (a sum's zero is +0: -0 reads as 0)
                got == want || (got.is_nan() && want.is_nan()),
                "f16 {h:#06x} simd={simd}: {got:e}, want {want:e}"
            );
        }
    }
}

#[test]
fn activations_are_within_half_a_step() {
    let mut rng = Rng(7);
    let x: Vec<f32> = (0..100).map(|_| rng.unit() * 3.0).collect();
    let mut q = vec![BlockQ16::default(); 4];
    act::quantize(&x, &mut q);
    for (i, &v) in x.iter().enumerate() {
        let b = &q[i / QK];
        let back = b.d * b.qs[i % QK] as f32;
        assert!(
            (back - v).abs() <= b.d * 0.5 + 1e-7,
            "value {i}: {v} → {back}"
        );
    }
    // the padding of the last block is zero, and the half sums match the quants
    assert!(q[3].qs[100 - 96..].iter().all(|&v| v == 0));
    for b in &q {
        let s0: i32 = b.qs[..16].iter().map(|&v| v as i32).sum();
        assert_eq!(b.s[0], b.d * s0 as f32);
    }
}

/// The CPU engine's attention (spans of keys per KV head, the query heads that share it
/// together) against the reference op `hearth_model::ops::attention`, head by head, on
/// random caches: head sizes with and without a specialised SIMD path, lengths around the
/// span size, GQA and not, portable and SIMD, over the whole cache and through sliding
/// windows shorter and longer than it (one position, a few, a span, more than a span; the
/// reference given the window's positions only). Spans run apart and merged in order give
/// the same bits as the one-pass fold (what makes decode and prefill agree).
#[test]
fn attention_matches_the_reference_op() {
    use hearth_cpu::attention::{self, KvHead, Partial, Queries, SPAN, Scratch};
    let mut rng = Rng(0xA77E);
    for d in [64, 128, 40] {
        for n_rep in [1, 3] {
            let n_kv = 2;
            let stride = n_kv * d;
            for len in [1, 63, 64, 65, 200] {
                let k: Vec<f32> = (0..len * stride).map(|_| 2.0 * rng.unit()).collect();
                let v: Vec<f32> = (0..len * stride).map(|_| rng.unit()).collect();
                let q: Vec<f32> = (0..n_rep * d).map(|_| 4.0 * rng.unit()).collect();
                let qs = Queries { q: &q, n_rep };
                let kv = KvHead {
                    k: &k,
                    v: &v,
                    stride,
                    offset: d,
                };
                for window in [None, Some(1), Some(5), Some(64), Some(70)] {
                    // the last token's view of a cache of len positions
                    let seen = attention::seen(len - 1, window);
                    let first = window.map_or(0, |w| len.saturating_sub(w));
                    assert_eq!(seen, first..len, "window {window:?} of {len}");
                    let what = format!("d={d} n_rep={n_rep} len={len} window={window:?}");
                    // the spans tile the window in order, cut at multiples of SPAN
                    let spans: Vec<(usize, usize)> = attention::spans(seen.clone()).collect();
                    assert_eq!(spans.first().map(|s| s.0), Some(first), "{what}");
                    assert_eq!(spans.last().map(|s| s.1), Some(len), "{what}");
                    for (a, b) in spans.iter().zip(&spans[1..]) {
                        assert!(a.1 == b.0 && a.1 % SPAN == 0, "{what}: spans {spans:?}");
                    }
                    for simd in [false, true] {
                        kernel::set_simd(simd);
                        let mut out = vec![0f32; n_rep * d];
                        let mut scratch = Scratch::default();
                        attention::heads(qs, &kv, seen.clone(), &mut out, &mut scratch);
                        let parts: Vec<Partial> = spans
                            .iter()
                            .map(|&(lo, hi)| {
                                let mut p = Partial::default();
                                attention::span(qs, &kv, lo, hi, &mut p, &mut Vec::new());
                                p
                            })
                            .collect();
                        let mut run = parts[0].clone();
                        for p in &parts[1..] {
                            attention::merge(&mut run, p);
                        }
                        let mut apart = vec![0f32; n_rep * d];
                        attention::finish(&run, &mut apart);
                        assert!(apart == out, "{what}: spans apart differ");
                        let (kw, vw) = (&k[first * stride..], &v[first * stride..]);
                        for r in 0..n_rep {
                            let mut want = vec![0f32; d];
                            let mut att = vec![0f32; len];
                            let qr = &q[r * d..][..d];
                            hearth_model::ops::attention(
                                &mut want, qr, kw, vw, stride, d, &mut att,
                            );
                            for (j, (&g, &w)) in out[r * d..][..d].iter().zip(&want).enumerate() {
                                assert!(
                                    (g - w).abs() <= 2e-6,
                                    "{what} simd={simd}: head {r}[{j}] = {g}, want {w}"
                                );
                            }
                        }
                    }
                    kernel::set_simd(true);
                }
            }
        }
    }
}

/// The positions a token sees, by hand: everything up to its own, or the window's last.
#[test]
fn a_window_sees_the_last_positions_only() {
    use hearth_cpu::attention::seen;
    assert_eq!(seen(0, None), 0..1);
    assert_eq!(seen(9, None), 0..10);
    assert_eq!(seen(9, Some(4)), 6..10);
    assert_eq!(seen(2, Some(4)), 0..3);
    assert_eq!(seen(3, Some(4)), 0..4);
    assert_eq!(seen(4, Some(4)), 1..5);
    assert_eq!(seen(7, Some(1)), 7..8);
}

/// The softmax's exponential against f64 over the range scores less their max take.
#[test]
fn attention_exp_is_within_a_few_ulp() {
    let mut worst = 0f64;
    for i in 0..=870_000 {
        let x = -(i as f32) * 1e-4;
        let got = hearth_cpu::attention::exp(x) as f64;
        let want = (x as f64).exp();
        worst = worst.max((got - want).abs() / want);
    }
    assert!(worst <= 4e-7, "worst relative error {worst}");
}

/// A gated activation's reference: `out = act(gate) · up`.
type GatedOp = fn(&mut [f32], &[f32], &[f32]);

/// The gated FFN ops (`act::gated_mul` with `act::silu`, `act::gelu`: SwiGLU and GeGLU)
/// against `hearth_model::ops::silu_mul` and `gelu_mul` on one and several threads, over
/// lengths that are not multiples of the threads' runs, gates from −40 to 40 (GELU's tanh
/// saturates; SiLU's exponential overflows). GELU is also checked against its tanh form in
/// f64 (the reference's own formula, independently of its f32 steps).
#[test]
fn gated_mul_matches_the_reference_ops() {
    use hearth_cpu::{Pool, act};
    let mut rng = Rng(0x6E1A);
    for threads in [1, 3] {
        let pool = Pool::new(threads);
        for len in [1, 5, 1000] {
            let mut gate: Vec<f32> = (0..len).map(|_| 6.0 * rng.unit()).collect();
            for (g, extreme) in gate.iter_mut().zip([0.0, -40.0, 40.0, -9.0, 9.0, 1e-3]) {
                *g = extreme;
            }
            let up: Vec<f32> = (0..len).map(|_| 2.0 * rng.unit()).collect();
            for name in ["silu", "gelu"] {
                let (f, reference): (fn(f32) -> f32, GatedOp) = match name {
                    "silu" => (act::silu, hearth_model::ops::silu_mul),
                    _ => (act::gelu, hearth_model::ops::gelu_mul),
                };
                let mut got = vec![f32::NAN; len];
                act::gated_mul(&pool, &mut got, &gate, &up, f);
                let mut want = vec![0f32; len];
                reference(&mut want, &gate, &up);
                for j in 0..len {
                    let (g, w) = (got[j], want[j]);
                    assert!(
                        (g - w).abs() <= 1e-6 * w.abs() + 1e-7,
                        "{name} threads={threads} len={len}: [{j}] (gate {}) = {g}, want {w}",
                        gate[j]
                    );
                }
            }
            for j in 0..len {
                let z = gate[j] as f64;
                let gelu = 0.5
                    * z
                    * (1.0
                        + ((2.0 / std::f64::consts::PI).sqrt() * (z + 0.044715 * z.powi(3)))
                            .tanh());
                let want = gelu * up[j] as f64;
                let got = (act::gelu(gate[j]) * up[j]) as f64;
                // 1 + tanh(u) cancels for a very negative gate: an f32 step of 1 times z/2
                let tol = 1e-6 * (1.0 + z.abs()) * up[j].abs() as f64;
                assert!(
                    (got - want).abs() <= tol,
                    "gelu len={len}: gate {z} · up {} = {got}, f64 {want}",
                    up[j]
                );
            }
        }
    }
}

/// The post-norm residual (`act::norm_add`: x += rms_norm(y) · w) against
/// `hearth_model::ops::norm_add`, on rows of 77 and 256 with gains around 1 (eps small
/// and large against mean(y²)), and a zero row of y (x unchanged).
#[test]
fn norm_add_matches_the_reference_op() {
    use hearth_cpu::act;
    let mut rng = Rng(0x90DD);
    for width in [77, 256] {
        for eps in [1e-6, 0.5] {
            let x: Vec<f32> = (0..width).map(|_| 3.0 * rng.unit()).collect();
            let y: Vec<f32> = (0..width).map(|_| 0.8 * rng.unit()).collect();
            let w: Vec<f32> = (0..width).map(|_| 1.0 + 0.3 * rng.unit()).collect();
            let mut got = x.clone();
            act::norm_add(&mut got, &y, &w, eps);
            let mut want = x.clone();
            hearth_model::ops::norm_add(&mut want, &y, &w, eps);
            for (j, (&g, &wv)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - wv).abs() <= 1e-6 * (1.0 + wv.abs()),
                    "width={width} eps={eps}: x[{j}] = {g}, want {wv}"
                );
            }
            let mut unchanged = x.clone();
            act::norm_add(&mut unchanged, &vec![0.0; width], &w, eps);
            assert_eq!(unchanged, x, "width={width} eps={eps}: a zero row moved x");
        }
    }
}

/// The RoPE tables the engine keeps (the model's, and the sliding-window layers' of
/// `Config::rope_local`: another base, no scaling or frequency factors) against
/// `hearth_model::ops::rope` with the same parameters, NeoX and adjacent pairs, at
/// positions past a table's first extension; and the two tables really differ.
#[test]
fn rope_tables_match_the_reference_op() {
    use hearth_cpu::attention::RopeTable;
    use hearth_model::ops::RopeParams;
    let mut rng = Rng(0x2093);
    let (head_dim, n_heads) = (128, 3);
    for neox in [true, false] {
        let global = RopeParams {
            dim: 96, // partial rotation: the last 32 dims of each head stay
            base: 1_000_000.0,
            freq_scale: 0.125,
            freq_factors: Some((0..48).map(|i| 1.0 + i as f32 / 8.0).collect()),
            neox,
        };
        let local = RopeParams {
            base: 10_000.0,
            freq_scale: 1.0,
            freq_factors: None,
            ..global.clone()
        };
        let x: Vec<f32> = (0..n_heads * head_dim).map(|_| 2.0 * rng.unit()).collect();
        let mut rotated = Vec::new();
        for (name, p) in [("global", &global), ("local", &local)] {
            let mut table = RopeTable::new(p);
            table.extend(p, 10);
            table.extend(p, 300);
            for pos in [0, 1, 9, 10, 64, 299] {
                let mut got = x.clone();
                table.apply(&mut got, head_dim, pos);
                let mut want = x.clone();
                hearth_model::ops::rope(&mut want, head_dim, pos, p);
                for (j, (&g, &w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (g - w).abs() <= 2e-6,
                        "{name} neox={neox} pos={pos}: x[{j}] = {g}, want {w}"
                    );
                }
                if pos == 299 {
                    rotated.push(got);
                }
            }
        }
        let moved = rotated[0]
            .iter()
            .zip(&rotated[1])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            moved > 0.1,
            "neox={neox}: local and global RoPE agree ({moved})"
        );
    }
}

/// An embedding lookup (`QMatrix::row_f32` with Gemma's √n_embd scale, and Llama's 1)
/// against hearth-gguf's dequantized rows times the scale, for a block and a float format;
/// a scale of 1 leaves the row bit for bit, and a row past the table is an error.
#[test]
fn embedding_rows_are_scaled() {
    let mut rng = Rng(0xE4BD);
    let (rows, cols) = (7, 256);
    for ty in [GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::F16] {
        let bytes = random_matrix(&mut rng, ty, rows, cols);
        let w = dequantize_vec(ty, &bytes).unwrap();
        let m = QMatrix::new(ty, rows, cols, bytes).unwrap();
        for scale in [1.0, 16.0, (1152f32).sqrt()] {
            for r in [0, 3, rows - 1] {
                let mut got = vec![f32::NAN; cols];
                m.row_f32(r, scale, &mut got).unwrap();
                for (j, (&g, &v)) in got.iter().zip(&w[r * cols..][..cols]).enumerate() {
                    let want = v as f64 * scale as f64;
                    assert!(
                        (g as f64 - want).abs() <= 6e-8 * want.abs(),
                        "{ty:?} scale={scale} row {r}[{j}] = {g}, want {want}"
                    );
                    if scale == 1.0 {
                        assert_eq!(g.to_bits(), v.to_bits(), "{ty:?} row {r}[{j}]");
                    }
                }
            }
        }
        assert!(m.row_f32(rows, 1.0, &mut vec![0.0; cols]).is_err());
    }
}
