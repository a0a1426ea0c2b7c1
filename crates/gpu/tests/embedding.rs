//! embedding.wgsl against its CPU twin, `hearth_gguf::dequantize`: bit for bit, for every
//! GPU weight format, including scales that are f16 subnormals and non-finite values; and
//! scaled (Gemma's √n_embd) against the dequantized values times the scale.

// native only (blocking calls); tests/browser.rs runs the kernel checks on the web
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::embedding::{
    assert_same_bits, every_format_bit_exactly, every_format_scaled, gpu_rows,
    random_bytes_and_subnormal_scales,
};
use common::{Rng, block_on, gpu, random_weights};
use hearth_gguf::{GgmlType, dequantize_vec};
use hearth_gpu::GpuWeights;

#[test]
fn dequantizes_every_format_bit_exactly() {
    block_on(every_format_bit_exactly(&gpu()));
}

#[test]
fn random_bytes_and_subnormal_scales_survive() {
    block_on(random_bytes_and_subnormal_scales(&gpu()));
}

#[test]
fn scales_every_format_bit_exactly() {
    block_on(every_format_scaled(&gpu()));
}

#[test]
fn looks_up_tokens_across_split_buffers() {
    let mut g = gpu();
    let mut rng = Rng::new(3);
    let (ty, rows, cols) = (GgmlType::Q8_0, 50, 64);
    let bytes = random_weights(&mut rng, ty, rows, cols);
    let all = dequantize_vec(ty, &bytes).unwrap();
    // 7 rows (each padded to 16 bytes) per buffer: the matrix lands in 8 parts
    g.max_binding_bytes = 7 * (cols / 32 * 36).next_multiple_of(16) as u64;
    let w = GpuWeights::upload(&g, "w", ty, rows, cols, &bytes).unwrap();
    assert_eq!(w.parts.len(), 8);
    let tokens = [49u32, 0, 7, 6, 13, 14, 25];
    let got = block_on(gpu_rows(&g, ty, rows, cols, &bytes, &tokens));
    let want: Vec<f32> = tokens
        .iter()
        .flat_map(|&t| all[t as usize * cols..][..cols].to_vec())
        .collect();
    assert_same_bits(ty, &got, &want);
}

/// The bytes of a block written as hex pairs separated by whitespace.
fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// One worked example of `docs/gguf.md` §3 decoded on the GPU: the listed first 8 and last 4
/// values (written as f64 literals; each is exact in f32), and the sum of the whole block
/// (exact in f64).
fn check_worked_example(ty: GgmlType, block: &str, first: [f64; 8], last: [f64; 4], sum: f64) {
    let (first, last) = (first.map(|v| v as f32), last.map(|v| v as f32));
    let g = gpu();
    let bytes = hex(block);
    assert_eq!(bytes.len(), ty.block_bytes(), "{ty:?} example length");
    let y = block_on(gpu_rows(&g, ty, 1, 256, &bytes, &[0]));
    assert_same_bits(ty, &y[..8], &first);
    assert_same_bits(ty, &y[252..], &last);
    assert_eq!(
        y.iter().map(|&v| f64::from(v)).sum::<f64>(),
        sum,
        "{ty:?} sum"
    );
    assert_same_bits(ty, &y, &dequantize_vec(ty, &bytes).unwrap());
}

#[test]
fn q2_k_worked_example() {
    check_worked_example(
        GgmlType::Q2_K,
        "dc d6 5d 51 a7 1a 19 b7 94 e5 30 be a2 0e 16 b1 ae bc ce 0e 39 2a f8 71 03 be fa 97 83 db 95 8c
         2b 50 8a 8d 24 46 90 13 87 31 ea b3 11 01 f8 9d e1 e7 75 6c e8 ef d3 ee 0b d2 5b 4a 3b 7a 50 84
         68 f6 5a 0e 7d a6 9a 18 43 a7 01 eb ab 1f 36 c5 00 24 00 20",
        [
            0.2734375, -0.1015625, 0.2734375, 0.2734375, 0.0859375, 0.2734375, -0.1015625,
            0.0859375,
        ],
        [-0.0546875, -0.0859375, -0.0859375, -0.0390625],
        29.3125,
    );
}

#[test]
fn q3_k_worked_example() {
    check_worked_example(
        GgmlType::Q3_K,
        "37 ec 6b 8c ca 14 7f fb 34 1c 81 6e 17 aa 57 0a 05 3b 3d 35 d1 f2 6e 1f 00 38 75 cb f4 19 da 76
         14 44 0e 33 b2 b0 e5 f6 7f eb 0f 3d 11 5a 88 23 87 ee bd 18 75 dc 5a 53 f5 af 3b 42 3e c2 13 31
         ba 4c 8f b4 8a 37 57 52 11 ff 73 bc 5f b7 24 0e c8 63 59 f7 c1 50 cb a2 b6 ed 63 3d 65 81 8e 11
         c1 7f c6 32 ea 2d a0 f9 d2 c9 ec 39 00 20",
        [
            0.0, -0.03125, 0.015625, -0.0078125, -0.015625, -0.03125, 0.0078125, 0.015625,
        ],
        [-0.1328125, 0.265625, -0.265625, 0.53125],
        -9.9453125,
    );
}

#[test]
fn q4_k_worked_example() {
    check_worked_example(
        GgmlType::Q4_K,
        "00 20 00 1c 34 73 06 a6 d9 4f 12 e9 4e cc 49 7a bf 1f e0 d1 a5 65 b3 80 c0 7a 74 49 f5 cb 1a bc
         8c 91 df 8a 33 88 bd 7d 31 cc b2 6c 05 aa 97 13 a8 79 3d 09 2f fc 64 6a 9c 80 d2 29 48 ee 54 fd
         5f f7 66 fe 95 10 ce 2a 46 dd 95 6c 25 3d 0b d1 c2 72 18 51 68 e0 b6 3a 9a d8 a9 5c 3f 4e 92 38
         34 61 b7 bf 45 21 a1 0a db 8d bb b2 35 99 75 1b dd 01 b4 e1 04 82 9d b6 0d a4 fe 1d 74 39 31 fa
         c6 70 8c 68 21 f9 ac 47 f2 57 b4 9d 8c a3 99 50",
        [
            5.99609375, 5.99609375, -0.09765625, 0.30859375, 1.93359375, 1.93359375, 1.12109375,
            -0.09765625,
        ],
        [2.41015625, 3.06640625, 2.73828125, 1.42578125],
        424.6328125,
    );
}

#[test]
fn q5_k_worked_example() {
    check_worked_example(
        GgmlType::Q5_K,
        "00 20 00 1c 2b 69 22 db 26 8e c3 f4 d9 c8 dc a1 cb d2 87 28 ff 0e 2f 1e 77 f1 bb 09 50 10 c3 59
         18 f4 95 dd b7 c6 77 3d a5 18 58 d3 c1 f4 69 13 dd 9f bc 0e bc 22 fa 79 89 7f 01 26 fc 18 d0 e4
         5f 3e 10 4d dd a3 f6 70 ee 42 d2 07 05 86 44 9e 5f bd 63 b4 6c 11 60 88 cb 92 7c 63 93 e1 05 8e
         c8 f1 fd 51 89 33 f8 68 39 da a6 6d cc 21 4e 1f e9 7c 3c 86 d7 4a c3 ff 9f 15 f3 f5 1e 8c f8 2f
         bf 78 70 08 f2 43 6b 58 b9 09 35 c8 94 65 0e 39 a4 53 f5 06 5d ef 51 b5 b2 cf 53 bc e1 a7 81 d9
         20 eb b3 53 66 ec 3a 12 a0 5b b7 5a f6 4e c2 99",
        [
            9.59375, 4.890625, 9.2578125, 4.5546875, 9.2578125, 0.5234375, 8.5859375, 2.875,
        ],
        [11.640625, 7.4296875, 4.3671875, 3.21875],
        918.078125,
    );
}

#[test]
fn q6_k_worked_example() {
    check_worked_example(
        GgmlType::Q6_K,
        "df a0 2b 8e 28 b1 32 8b 7f 82 83 54 f2 91 66 d7 5f 34 a6 67 56 fc 04 c0 b6 4b 02 34 35 0f e6 54
         2d bc f2 01 06 a7 68 99 15 3a 23 03 45 d5 ca 31 42 01 71 e9 07 f6 c4 26 96 37 3c 65 9f b0 fe 80
         12 ef c5 8a 77 1b ea 8a 66 38 6c d1 0b 4b d9 ff c1 fb 0c 78 56 2d de fb ad 62 75 3e 49 25 38 85
         17 70 60 57 4d f2 6b aa 62 0b 4f d4 15 45 1a 35 1e f6 07 6a 32 59 9f c2 98 e7 5d fe ef ef 59 cc
         aa 51 92 ba 7f a1 97 f5 3e d1 9d 80 5c f1 57 22 88 4e 59 a2 ff 4c 56 72 eb 84 2e 0b cf 32 7d a4
         40 58 ea fe d3 29 d0 8b 8b 7a 92 09 05 8c fc 1b e6 9e 15 36 70 35 d4 a7 56 96 98 62 15 46 7d c3
         5b c7 23 c4 f6 43 db e2 ec 10 b5 4c db 03 0b 12 00 14",
        [
            1.3330078125, -1.421875, 0.9775390625, 1.244140625, 2.1328125, -1.3330078125,
            1.599609375, -0.4443359375,
        ],
        [-0.31640625, -0.03515625, -0.193359375, 0.4921875],
        -14.837890625,
    );
}
