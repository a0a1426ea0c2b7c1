//! The bandwidth roofline of an adapter: how fast a plain streaming-read kernel reads a
//! buffer. Decode reads every weight once per token, so bandwidth / bytes per token bounds
//! its tokens per second.

use std::time::Instant;

use crate::{Gpu, GpuTensor, Result, kernels};

/// Reads a buffer of `bytes` (at most one binding, rounded down to 16) `iters` times and
/// returns the best observed bandwidth in bytes per second, timed from submit to completion.
pub fn stream_bandwidth(gpu: &Gpu, bytes: usize, iters: usize) -> Result<f64> {
    let bytes = bytes.min(usize::try_from(gpu.max_binding_bytes).unwrap_or(usize::MAX));
    let words = (bytes / 16 * 4).max(4);
    let src = GpuTensor::zeros(gpu, words, "roofline src");
    let out = GpuTensor::zeros(gpu, kernels::stream_read_out_len(words), "roofline out");
    let op = kernels::stream_read(gpu, &src, &out)?;
    let run = || -> Result<f64> {
        let t = Instant::now();
        kernels::submit(gpu, std::slice::from_ref(&op));
        gpu.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| crate::GpuError::Readback(e.to_string()))?;
        Ok(t.elapsed().as_secs_f64())
    };
    run()?; // warm-up: pipeline and first-touch costs
    let mut best = f64::INFINITY;
    for _ in 0..iters.max(1) {
        best = best.min(run()?);
    }
    Ok((words * 4) as f64 / best)
}
