//! stream_read.wgsl (the roofline kernel of `hearth bench`) reads every word: its
//! per-invocation sums add up, wrapping, to the CPU's sum of the buffer.

// native only (blocking calls); tests/browser.rs runs the kernel checks on the web
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{Rng, gpu};
use hearth_gpu::{GpuTensor, kernels};

#[test]
fn reads_every_word() {
    let g = gpu();
    let mut rng = Rng::new(11);
    for words in [4usize, 1000, 4096 * 16 + 12, 300_000] {
        let data: Vec<u32> = (0..words).map(|_| rng.next_u64() as u32).collect();
        let src = GpuTensor::from_slice(&g, &data, "src");
        let out = GpuTensor::zeros(&g, kernels::stream_read_out_len(words), "out");
        kernels::submit(&g, &[kernels::stream_read(&g, &src, &out).unwrap()]);
        let sums: Vec<u32> = out.read_blocking(&g).unwrap();
        let got = sums.iter().fold(0u32, |a, &b| a.wrapping_add(b));
        let want = data.iter().fold(0u32, |a, &b| a.wrapping_add(b));
        assert_eq!(got, want, "{words} words");
    }
}
