//! Shared helpers of the GPU kernel tests: the device (a missing adapter fails the test),
//! seeded random data and random weights in every block format; and, one module per
//! kernel, the checks against its CPU twin. The checks are async (`GpuTensor::read`), so
//! the native tests (`block_on`) and the browser tests (`tests/browser.rs`, awaited) run
//! the same code with the same tolerances.
#![allow(dead_code)]

pub mod add;
pub mod attention;
pub mod embedding;
pub mod kv_store;
pub mod matmul;
pub mod matvec;
pub mod rms_norm;
pub mod rope;
pub mod rope_store;
pub mod sample;
pub mod silu_mul;

use half::f16;
use hearth_gguf::GgmlType;
use hearth_gpu::Gpu;

/// Runs an async check to completion (native: `GpuTensor::read` polls the device itself).
#[cfg(not(target_arch = "wasm32"))]
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    pollster::block_on(f)
}

/// The GPU (lavapipe in CI). No adapter is a test failure, never a skip.
#[cfg(not(target_arch = "wasm32"))]
pub fn gpu() -> Gpu {
    Gpu::new_blocking().unwrap_or_else(|e| panic!("GPU tests need an adapter: {e}"))
}

/// The GPU (WebGPU; SwiftShader in headless chromium). No adapter is a test failure.
#[cfg(target_arch = "wasm32")]
pub async fn gpu() -> Gpu {
    Gpu::new()
        .await
        .unwrap_or_else(|e| panic!("GPU tests need an adapter: {e}"))
}

/// A small seeded generator (SplitMix64), so tests are reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    pub fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
    pub fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f32()).collect()
    }
}

/// Byte offsets of each format's f16 scale fields (d, then min where there is one).
fn scale_fields(ty: GgmlType) -> &'static [usize] {
    match ty {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => &[0],
        GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4_K | GgmlType::Q5_K => &[0, 2],
        GgmlType::Q2_K => &[80, 82],
        GgmlType::Q3_K => &[108],
        GgmlType::Q6_K => &[208],
        _ => &[],
    }
}

/// GGUF bytes of a random `rows` × `cols` matrix of type `ty` with finite values of a
/// moderate size: random quant bytes, scales drawn small.
pub fn random_weights(rng: &mut Rng, ty: GgmlType, rows: usize, cols: usize) -> Vec<u8> {
    let n = rows * cols;
    match ty {
        GgmlType::F32 => rng.vec(n).iter().flat_map(|v| v.to_le_bytes()).collect(),
        GgmlType::F16 => rng
            .vec(n)
            .iter()
            .flat_map(|&v| f16::from_f32(v).to_le_bytes())
            .collect(),
        GgmlType::BF16 => rng
            .vec(n)
            .iter()
            .flat_map(|&v| ((v.to_bits() >> 16) as u16).to_le_bytes())
            .collect(),
        _ => {
            let (be, bb) = (ty.block_elems(), ty.block_bytes());
            let mut bytes = rng.bytes(n / be * bb);
            for block in bytes.chunks_exact_mut(bb) {
                for &off in scale_fields(ty) {
                    let s = f16::from_f32(rng.f32() * 0.02);
                    block[off..off + 2].copy_from_slice(&s.to_le_bytes());
                }
            }
            bytes
        }
    }
}

/// GGUF bytes of a random matrix of type `ty` whose values have roughly the given RMS:
/// random quant bytes, with each block's f16 scale fields rescaled after a trial decode
/// (block values are linear in them). Float types are drawn directly.
pub fn random_matrix(rng: &mut Rng, ty: GgmlType, rows: usize, cols: usize, rms: f32) -> Vec<u8> {
    let mut bytes = random_weights(rng, ty, rows, cols);
    let fields = scale_fields(ty);
    if fields.is_empty() {
        let v: Vec<f32> = rng.vec(rows * cols).iter().map(|x| x * rms * 1.7).collect();
        return match ty {
            GgmlType::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            GgmlType::F16 => v
                .iter()
                .flat_map(|&x| f16::from_f32(x).to_le_bytes())
                .collect(),
            _ => v
                .iter()
                .flat_map(|&x| ((x.to_bits() >> 16) as u16).to_le_bytes())
                .collect(),
        };
    }
    for block in bytes.chunks_exact_mut(ty.block_bytes()) {
        let y = hearth_gguf::dequantize_vec(ty, block).expect("valid block");
        let have = (y.iter().map(|v| v * v).sum::<f32>() / y.len() as f32).sqrt();
        let k = if have > 0.0 { rms / have } else { 0.0 };
        for &off in fields {
            let s = f16::from_le_bytes([block[off], block[off + 1]]).to_f32() * k;
            block[off..off + 2].copy_from_slice(&f16::from_f32(s).to_le_bytes());
        }
    }
    bytes
}
