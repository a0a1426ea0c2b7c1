//! Dequantization tests: bit-exact agreement with the `gguf` Python package on the fixtures in
//! `tests/fixtures/dequant/` (made by `scripts/gen-dequant-fixtures.py`), the worked examples of
//! `docs/gguf.md` §3, error cases, and block-by-block versus whole-buffer consistency.

use std::path::PathBuf;

use hearth_gguf::{GgmlType, GgufError, dequantize, dequantize_vec};

/// Every type `dequantize` supports, with its fixture name and the byte offset of its first f16
/// scale (None for F32/BF16, whose values are not f16).
const SUPPORTED: [(GgmlType, &str, Option<usize>); 13] = [
    (GgmlType::F32, "f32", None),
    (GgmlType::F16, "f16", Some(0)),
    (GgmlType::BF16, "bf16", None),
    (GgmlType::Q4_0, "q4_0", Some(0)),
    (GgmlType::Q4_1, "q4_1", Some(0)),
    (GgmlType::Q5_0, "q5_0", Some(0)),
    (GgmlType::Q5_1, "q5_1", Some(0)),
    (GgmlType::Q8_0, "q8_0", Some(0)),
    (GgmlType::Q2_K, "q2_k", Some(80)),
    (GgmlType::Q3_K, "q3_k", Some(108)),
    (GgmlType::Q4_K, "q4_k", Some(0)),
    (GgmlType::Q5_K, "q5_k", Some(0)),
    (GgmlType::Q6_K, "q6_k", Some(208)),
];

/// One fixture file: `HDQF`, u32 type id, u32 block bytes, u32 blocks in the "random" set,
/// u32 blocks in the "finite" set, then all blocks, then gguf's f32 output (all little-endian).
struct Fixture {
    ty: GgmlType,
    random_blocks: usize,
    finite_blocks: usize,
    blocks: Vec<u8>,
    want: Vec<f32>,
}

impl Fixture {
    fn load(ty: GgmlType, name: &str) -> Fixture {
        let path: PathBuf = [
            env!("CARGO_MANIFEST_DIR"),
            "../../tests/fixtures/dequant",
            &format!("{name}.bin"),
        ]
        .iter()
        .collect();
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let word =
            |i: usize| u32::from_le_bytes(data[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize;
        assert_eq!(&data[..4], b"HDQF", "{name}: bad magic");
        assert_eq!(word(0), ty.id() as usize, "{name}: type id");
        assert_eq!(word(1), ty.block_bytes(), "{name}: block bytes");
        let (random_blocks, finite_blocks) = (word(2), word(3));
        let n = random_blocks + finite_blocks;
        let blocks_end = 20 + n * ty.block_bytes();
        assert_eq!(
            data.len(),
            blocks_end + 4 * n * ty.block_elems(),
            "{name}: file length"
        );
        let want = data[blocks_end..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        Fixture {
            ty,
            random_blocks,
            finite_blocks,
            blocks: data[20..blocks_end].to_vec(),
            want,
        }
    }

    fn block(&self, b: usize) -> &[u8] {
        let bb = self.ty.block_bytes();
        &self.blocks[b * bb..(b + 1) * bb]
    }

    fn set_of(&self, b: usize) -> (&'static str, usize) {
        if b < self.random_blocks {
            ("random", b)
        } else {
            ("finite", b - self.random_blocks)
        }
    }
}

/// Equal f32 bit patterns, or both NaN (NaN payloads may differ between implementations).
fn same(got: f32, want: f32) -> bool {
    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan())
}

/// Compares `got` with the fixture's expected values; panics listing the first mismatches with
/// type, set, block, index, got and want.
fn assert_matches(fx: &Fixture, got: &[f32], what: &str) {
    assert_eq!(got.len(), fx.want.len(), "{:?} {what}: length", fx.ty);
    let per_block = fx.ty.block_elems();
    let bad: Vec<String> = got
        .iter()
        .zip(&fx.want)
        .enumerate()
        .filter(|&(_, (&g, &w))| !same(g, w))
        .map(|(i, (&g, &w))| {
            let (set, b) = fx.set_of(i / per_block);
            format!(
                "{:?} {set} block {b} index {}: got {g:e} ({:#010x}), want {w:e} ({:#010x})",
                fx.ty,
                i % per_block,
                g.to_bits(),
                w.to_bits()
            )
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: {} of {} values differ from gguf-py:\n{}",
        bad.len(),
        got.len(),
        bad[..bad.len().min(20)].join("\n")
    );
}

fn check_fixture(ty: GgmlType) {
    let &(_, name, scale_offset) = SUPPORTED.iter().find(|s| s.0 == ty).unwrap();
    let fx = Fixture::load(ty, name);
    assert!(
        fx.random_blocks > 0 && fx.finite_blocks > 0,
        "{name}: empty set"
    );

    let got = dequantize_vec(ty, &fx.blocks).unwrap();
    assert_matches(&fx, &got, "dequantize_vec");
    let mut out = vec![f32::from_bits(0x7fc0_1234); fx.want.len()];
    dequantize(ty, &fx.blocks, &mut out).unwrap();
    assert_matches(&fx, &out, "dequantize");

    // The fixture really covers what it is meant to: NaN/Inf in the random set, finite values
    // in the finite set, and a subnormal f16 scale 0x0001 whose block is not all zeros (a
    // flush-to-zero implementation would fail above).
    let split = fx.random_blocks * ty.block_elems();
    assert!(
        fx.want[..split].iter().any(|v| v.is_nan()),
        "{name}: random set has no NaN"
    );
    assert!(
        fx.want[split..].iter().all(|v| v.is_finite()),
        "{name}: finite set is not finite"
    );
    if let Some(off) = scale_offset {
        let b = fx.random_blocks; // first block of the finite set
        assert_eq!(
            &fx.block(b)[off..off + 2],
            &[1, 0],
            "{name}: finite block 0 scale is not 0x0001"
        );
        let ys = &fx.want[b * ty.block_elems()..(b + 1) * ty.block_elems()];
        assert!(
            ys.iter().any(|&v| v != 0.0),
            "{name}: subnormal-scale block dequantizes to all zeros"
        );
    }
}

macro_rules! fixture_tests {
    ($($test:ident => $ty:ident),* $(,)?) => {$(
        #[test]
        fn $test() {
            check_fixture(GgmlType::$ty);
        }
    )*};
}

fixture_tests! {
    matches_gguf_py_f32 => F32,
    matches_gguf_py_f16 => F16,
    matches_gguf_py_bf16 => BF16,
    matches_gguf_py_q4_0 => Q4_0,
    matches_gguf_py_q4_1 => Q4_1,
    matches_gguf_py_q5_0 => Q5_0,
    matches_gguf_py_q5_1 => Q5_1,
    matches_gguf_py_q8_0 => Q8_0,
    matches_gguf_py_q2_k => Q2_K,
    matches_gguf_py_q3_k => Q3_K,
    matches_gguf_py_q4_k => Q4_K,
    matches_gguf_py_q5_k => Q5_K,
    matches_gguf_py_q6_k => Q6_K,
}

/// One worked example of `docs/gguf.md` §3: the block bytes, some listed values (start index and
/// consecutive values), and the sum over the block when the note gives it.
struct Example {
    ty: GgmlType,
    hex: &'static str,
    values: &'static [(usize, &'static [f64])],
    sum: Option<f64>,
}

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

const EXAMPLES: &[Example] = &[
    Example {
        ty: GgmlType::F32,
        hex: "00 00 80 3f 00 00 00 c0 00 00 00 3f 00 00 49 40 00 00 00 80 00 e0 7f 47 00 00 80 33 6f 12 83 3a 00 00 f0 c0 cd cc cc 3d 00 00 c8 42 ab aa aa be",
        values: &[(
            0,
            &[
                1.0,
                -2.0,
                0.5,
                3.140625,
                -0.0,
                65504.0,
                5.960464477539063e-08,
                0.0010000000474974513,
                -7.5,
                0.10000000149011612,
                100.0,
                -0.3333333432674408,
            ],
        )],
        sum: None,
    },
    Example {
        ty: GgmlType::F16,
        hex: "00 3c 00 c0 00 38 48 42 00 80 ff 7b 01 00 19 14 80 c7 66 2e 40 56 55 b5",
        values: &[(
            0,
            &[
                1.0,
                -2.0,
                0.5,
                3.140625,
                -0.0,
                65504.0,
                5.960464477539063e-08,
                0.0010004043579101562,
                -7.5,
                0.0999755859375,
                100.0,
                -0.333251953125,
            ],
        )],
        sum: None,
    },
    Example {
        ty: GgmlType::BF16,
        hex: "80 3f 00 c0 00 3f 49 40 00 80 7f 47 80 33 83 3a f0 c0 cc 3d c8 42 aa be",
        values: &[(
            0,
            &[
                1.0,
                -2.0,
                0.5,
                3.140625,
                -0.0,
                65280.0,
                5.960464477539063e-08,
                0.00099945068359375,
                -7.5,
                0.099609375,
                100.0,
                -0.33203125,
            ],
        )],
        sum: None,
    },
    Example {
        ty: GgmlType::Q8_0,
        hex: "00 20 52 c4 2b 5b c1 d5 04 24 ca 1f c4 c3 b7 98 e7 24 8c 14 00 f1 f2 49 87 40 87 71 c7 df fe 0a 51 81",
        values: &[
            (
                0,
                &[
                    0.640625, -0.46875, 0.3359375, 0.7109375, -0.4921875, -0.3359375, 0.03125,
                    0.28125,
                ],
            ),
            (16, &[-0.90625]),
            (28, &[-0.015625, 0.078125, 0.6328125, -0.9921875]),
        ],
        sum: Some(-3.6328125),
    },
    Example {
        ty: GgmlType::Q4_0,
        hex: "00 30 6d 4f a6 58 8b f1 db 3b 53 b2 4f 04 03 5c ce 1a",
        values: &[
            (0, &[0.625, 0.875, -0.25, 0.0, 0.375, -0.875, 0.375, 0.375]),
            (16, &[-0.25]),
            (28, &[-1.0, -0.375, 0.5, -0.875]),
        ],
        sum: Some(-1.875),
    },
    Example {
        ty: GgmlType::Q4_1,
        hex: "00 30 00 bc 2f 4c a6 58 61 b9 61 6d ff 6e 93 71 c4 a3 45 41",
        values: &[
            (0, &[0.875, 0.5, -0.25, 0.0, -0.875, 0.125, -0.875, 0.625]),
            (16, &[-0.75]),
            (28, &[0.5, 0.25, -0.5, -0.5]),
        ],
        sum: Some(-3.5),
    },
    Example {
        ty: GgmlType::Q5_0,
        hex: "00 2c b1 42 38 26 5f 69 b5 2f 28 b7 71 b6 63 3f a0 d3 00 45 61 22",
        values: &[
            (
                0,
                &[
                    0.9375, -0.4375, -0.6875, -0.0625, 0.5, 0.4375, -0.9375, 0.375,
                ],
            ),
            (16, &[-0.6875]),
            (28, &[-1.0, 0.25, -0.625, -0.875]),
        ],
        sum: Some(-7.875),
    },
    Example {
        ty: GgmlType::Q5_1,
        hex: "00 2c 00 bc 8b 8c de 8f 97 d7 a1 d8 e5 8c 1b e6 3c 01 5c a8 a8 fa 17 62",
        values: &[
            (
                0,
                &[0.4375, 0.4375, -0.9375, 0.5, -0.6875, -0.25, -0.3125, 0.375],
            ),
            (16, &[-0.4375]),
            (28, &[-0.375, -0.0625, -0.9375, 0.375]),
        ],
        sum: Some(1.5625),
    },
    Example {
        ty: GgmlType::Q2_K,
        hex: "dc d6 5d 51 a7 1a 19 b7 94 e5 30 be a2 0e 16 b1 ae bc ce 0e 39 2a f8 71 03 be fa 97 83 db 95 8c 2b 50 8a 8d 24 46 90 13 87 31 ea b3 11 01 f8 9d e1 e7 75 6c e8 ef d3 ee 0b d2 5b 4a 3b 7a 50 84 68 f6 5a 0e 7d a6 9a 18 43 a7 01 eb ab 1f 36 c5 00 24 00 20",
        values: &[
            (
                0,
                &[
                    0.2734375, -0.1015625, 0.2734375, 0.2734375, 0.0859375, 0.2734375, -0.1015625,
                    0.0859375,
                ],
            ),
            (252, &[-0.0546875, -0.0859375, -0.0859375, -0.0390625]),
        ],
        sum: Some(29.3125),
    },
    Example {
        ty: GgmlType::Q3_K,
        hex: "37 ec 6b 8c ca 14 7f fb 34 1c 81 6e 17 aa 57 0a 05 3b 3d 35 d1 f2 6e 1f 00 38 75 cb f4 19 da 76 14 44 0e 33 b2 b0 e5 f6 7f eb 0f 3d 11 5a 88 23 87 ee bd 18 75 dc 5a 53 f5 af 3b 42 3e c2 13 31 ba 4c 8f b4 8a 37 57 52 11 ff 73 bc 5f b7 24 0e c8 63 59 f7 c1 50 cb a2 b6 ed 63 3d 65 81 8e 11 c1 7f c6 32 ea 2d a0 f9 d2 c9 ec 39 00 20",
        values: &[
            (
                0,
                &[
                    0.0, -0.03125, 0.015625, -0.0078125, -0.015625, -0.03125, 0.0078125, 0.015625,
                ],
            ),
            (252, &[-0.1328125, 0.265625, -0.265625, 0.53125]),
        ],
        sum: Some(-9.9453125),
    },
    Example {
        ty: GgmlType::Q4_K,
        hex: "00 20 00 1c 34 73 06 a6 d9 4f 12 e9 4e cc 49 7a bf 1f e0 d1 a5 65 b3 80 c0 7a 74 49 f5 cb 1a bc 8c 91 df 8a 33 88 bd 7d 31 cc b2 6c 05 aa 97 13 a8 79 3d 09 2f fc 64 6a 9c 80 d2 29 48 ee 54 fd 5f f7 66 fe 95 10 ce 2a 46 dd 95 6c 25 3d 0b d1 c2 72 18 51 68 e0 b6 3a 9a d8 a9 5c 3f 4e 92 38 34 61 b7 bf 45 21 a1 0a db 8d bb b2 35 99 75 1b dd 01 b4 e1 04 82 9d b6 0d a4 fe 1d 74 39 31 fa c6 70 8c 68 21 f9 ac 47 f2 57 b4 9d 8c a3 99 50",
        values: &[
            (
                0,
                &[
                    5.99609375,
                    5.99609375,
                    -0.09765625,
                    0.30859375,
                    1.93359375,
                    1.93359375,
                    1.12109375,
                    -0.09765625,
                ],
            ),
            (252, &[2.41015625, 3.06640625, 2.73828125, 1.42578125]),
        ],
        sum: Some(424.6328125),
    },
    Example {
        ty: GgmlType::Q5_K,
        hex: "00 20 00 1c 2b 69 22 db 26 8e c3 f4 d9 c8 dc a1 cb d2 87 28 ff 0e 2f 1e 77 f1 bb 09 50 10 c3 59 18 f4 95 dd b7 c6 77 3d a5 18 58 d3 c1 f4 69 13 dd 9f bc 0e bc 22 fa 79 89 7f 01 26 fc 18 d0 e4 5f 3e 10 4d dd a3 f6 70 ee 42 d2 07 05 86 44 9e 5f bd 63 b4 6c 11 60 88 cb 92 7c 63 93 e1 05 8e c8 f1 fd 51 89 33 f8 68 39 da a6 6d cc 21 4e 1f e9 7c 3c 86 d7 4a c3 ff 9f 15 f3 f5 1e 8c f8 2f bf 78 70 08 f2 43 6b 58 b9 09 35 c8 94 65 0e 39 a4 53 f5 06 5d ef 51 b5 b2 cf 53 bc e1 a7 81 d9 20 eb b3 53 66 ec 3a 12 a0 5b b7 5a f6 4e c2 99",
        values: &[
            (
                0,
                &[
                    9.59375, 4.890625, 9.2578125, 4.5546875, 9.2578125, 0.5234375, 8.5859375, 2.875,
                ],
            ),
            (252, &[11.640625, 7.4296875, 4.3671875, 3.21875]),
        ],
        sum: Some(918.078125),
    },
    Example {
        ty: GgmlType::Q6_K,
        hex: "df a0 2b 8e 28 b1 32 8b 7f 82 83 54 f2 91 66 d7 5f 34 a6 67 56 fc 04 c0 b6 4b 02 34 35 0f e6 54 2d bc f2 01 06 a7 68 99 15 3a 23 03 45 d5 ca 31 42 01 71 e9 07 f6 c4 26 96 37 3c 65 9f b0 fe 80 12 ef c5 8a 77 1b ea 8a 66 38 6c d1 0b 4b d9 ff c1 fb 0c 78 56 2d de fb ad 62 75 3e 49 25 38 85 17 70 60 57 4d f2 6b aa 62 0b 4f d4 15 45 1a 35 1e f6 07 6a 32 59 9f c2 98 e7 5d fe ef ef 59 cc aa 51 92 ba 7f a1 97 f5 3e d1 9d 80 5c f1 57 22 88 4e 59 a2 ff 4c 56 72 eb 84 2e 0b cf 32 7d a4 40 58 ea fe d3 29 d0 8b 8b 7a 92 09 05 8c fc 1b e6 9e 15 36 70 35 d4 a7 56 96 98 62 15 46 7d c3 5b c7 23 c4 f6 43 db e2 ec 10 b5 4c db 03 0b 12 00 14",
        values: &[
            (
                0,
                &[
                    1.3330078125,
                    -1.421875,
                    0.9775390625,
                    1.244140625,
                    2.1328125,
                    -1.3330078125,
                    1.599609375,
                    -0.4443359375,
                ],
            ),
            (252, &[-0.31640625, -0.03515625, -0.193359375, 0.4921875]),
        ],
        sum: Some(-14.837890625),
    },
];

#[test]
fn worked_examples_of_docs_gguf_md() {
    for ex in EXAMPLES {
        let bytes = hex(ex.hex);
        assert_eq!(
            bytes.len() % ex.ty.block_bytes(),
            0,
            "{:?}: example length",
            ex.ty
        );
        let y = dequantize_vec(ex.ty, &bytes).unwrap();
        for &(start, values) in ex.values {
            for (k, &want) in values.iter().enumerate() {
                let i = start + k;
                let got = y[i];
                // Exact, including the sign of zero.
                assert!(
                    f64::from(got) == want && got.is_sign_negative() == want.is_sign_negative(),
                    "{:?} example: y[{i}] got {got:e}, want {want:e}",
                    ex.ty
                );
            }
        }
        if let Some(want) = ex.sum {
            let got: f64 = y.iter().map(|&v| f64::from(v)).sum();
            assert_eq!(got, want, "{:?} example: sum", ex.ty);
        }
    }
}

#[test]
fn whole_buffer_equals_concatenated_blocks() {
    for &(ty, name, _) in &SUPPORTED {
        let fx = Fixture::load(ty, name);
        let whole = dequantize_vec(ty, &fx.blocks).unwrap();
        let n_blocks = fx.random_blocks + fx.finite_blocks;
        let mut concat = Vec::with_capacity(whole.len());
        for b in 0..n_blocks {
            let mut y = vec![0.0; ty.block_elems()];
            dequantize(ty, fx.block(b), &mut y).unwrap();
            concat.extend_from_slice(&y);
        }
        assert_eq!(concat.len(), whole.len(), "{name}: length");
        for (i, (&w, &c)) in whole.iter().zip(&concat).enumerate() {
            let (set, b) = fx.set_of(i / ty.block_elems());
            assert!(
                w.to_bits() == c.to_bits(),
                "{ty:?} {set} block {b} index {}: whole buffer {w:e}, block alone {c:e}",
                i % ty.block_elems()
            );
        }
        // An odd-sized run starting at an odd block (unaligned for 18/22/34/110/210-byte blocks).
        if n_blocks >= 4 {
            let (bb, be) = (ty.block_bytes(), ty.block_elems());
            let run = dequantize_vec(ty, &fx.blocks[bb..4 * bb]).unwrap();
            assert!(
                run.iter()
                    .zip(&whole[be..4 * be])
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{name}: blocks 1..4 differ from the whole-buffer result"
            );
        }
    }
}

#[test]
fn partial_blocks_are_rejected() {
    for &(ty, _, _) in &SUPPORTED {
        let bb = ty.block_bytes();
        if bb == 1 {
            continue;
        }
        for len in [1, bb - 1, bb + 1, 3 * bb - 1] {
            let bytes = vec![0u8; len];
            let want = GgufError::PartialBlock { ty, len, block: bb };
            assert_eq!(
                dequantize_vec(ty, &bytes),
                Err(want.clone()),
                "{ty:?} len {len}"
            );
            let mut out = vec![0.0; 256];
            assert_eq!(
                dequantize(ty, &bytes, &mut out),
                Err(want),
                "{ty:?} len {len}"
            );
        }
    }
}

#[test]
fn wrong_output_length_is_rejected() {
    for &(ty, _, _) in &SUPPORTED {
        let (bb, be) = (ty.block_bytes(), ty.block_elems());
        let bytes = vec![0u8; 3 * bb];
        for got in [0, 3 * be - 1, 3 * be + 1, 4 * be, 2 * be] {
            let mut out = vec![0.0; got];
            let want = GgufError::OutputLength {
                ty,
                blocks: 3,
                per_block: be,
                got,
            };
            assert_eq!(
                dequantize(ty, &bytes, &mut out),
                Err(want),
                "{ty:?} out {got}"
            );
        }
        let mut out = vec![f32::NAN; 3 * be];
        assert_eq!(
            dequantize(ty, &bytes, &mut out),
            Ok(()),
            "{ty:?} right length"
        );
        assert!(
            out.iter().all(|&v| v == 0.0),
            "{ty:?}: zero bytes should give zeros"
        );
    }
    let msg = GgufError::OutputLength {
        ty: GgmlType::Q4_K,
        blocks: 2,
        per_block: 256,
        got: 500,
    }
    .to_string();
    assert!(msg.contains("Q4_K") && msg.contains("500"), "{msg}");
}

#[test]
fn activation_only_types_are_unsupported() {
    for ty in [GgmlType::Q8_K, GgmlType::Q8_1] {
        for blocks in [0, 1, 2] {
            let bytes = vec![0u8; blocks * ty.block_bytes()];
            let want = GgufError::UnsupportedType { ty };
            assert_eq!(dequantize_vec(ty, &bytes), Err(want.clone()), "{ty:?}");
            let mut out = vec![0.0; blocks * ty.block_elems()];
            assert_eq!(dequantize(ty, &bytes, &mut out), Err(want), "{ty:?}");
        }
    }
}

#[test]
fn empty_input_gives_empty_output() {
    for &(ty, _, _) in &SUPPORTED {
        assert_eq!(dequantize_vec(ty, &[]), Ok(vec![]), "{ty:?}");
        assert_eq!(dequantize(ty, &[], &mut []), Ok(()), "{ty:?}");
    }
}

#[test]
fn arbitrary_lengths_and_bytes_never_panic() {
    // A simple xorshift keeps this deterministic without a dependency.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state as u8
    };
    let bytes: Vec<u8> = (0..3000).map(|_| next()).collect();
    for ty in GgmlType::ALL {
        for len in (0..700).chain([2919, 2920, 2921, 3000]) {
            let input = &bytes[..len];
            let result = dequantize_vec(ty, input);
            let whole = len % ty.block_bytes() == 0;
            let supported = !matches!(ty, GgmlType::Q8_K | GgmlType::Q8_1);
            assert_eq!(
                result.is_ok(),
                whole && supported,
                "{ty:?} len {len}: {result:?}"
            );
            if let Ok(y) = result {
                assert_eq!(y.len(), len / ty.block_bytes() * ty.block_elems());
            }
            let mut out = vec![0.0; len];
            let _ = dequantize(ty, input, &mut out);
        }
    }
}
