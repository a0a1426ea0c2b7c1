//! Wrapper of stream_read.wgsl: the bandwidth roofline of `hearth bench`.

use super::{Op, bind, groups_2d, uniform};
use crate::{Gpu, GpuError, GpuTensor, Kernel, Result};

/// Invocations per workgroup and vec4 loads per invocation of stream_read.wgsl.
const WG: u32 = 256;
const PER_THREAD: u32 = 16;

/// Reads all of `src` (a multiple of 16 bytes) and writes one wrapping u32 sum per
/// invocation into `out`, which needs [`stream_read_out_len`] values.
pub fn stream_read(gpu: &Gpu, src: &GpuTensor, out: &GpuTensor) -> Result<Op> {
    let n_vec4 = (src.len / 4) as u32;
    if !src.len.is_multiple_of(4) || out.len < stream_read_out_len(src.len) {
        return Err(GpuError::Shape(format!(
            "stream_read of {} words into {}",
            src.len, out.len
        )));
    }
    let pipeline = gpu.pipeline(
        Kernel::StreamRead,
        None,
        &[("WG_SIZE", WG), ("PER_THREAD", PER_THREAD)],
    )?;
    let p = uniform(gpu, "stream_read params", &[n_vec4, 0, 0, 0]);
    Ok(Op {
        bind_group: bind(
            gpu,
            &pipeline,
            "stream_read",
            &[&src.buffer, &out.buffer, &p],
        ),
        pipeline,
        groups: groups_2d(n_vec4.div_ceil(WG * PER_THREAD)),
        indirect: None,
    })
}

/// Length of the `out` buffer of [`stream_read`] for a source of `words` u32 values.
pub fn stream_read_out_len(words: usize) -> usize {
    let groups = (words / 4).div_ceil((WG * PER_THREAD) as usize);
    let groups = if groups > 65535 {
        groups.div_ceil(65535) * 65535
    } else {
        groups
    };
    groups * WG as usize
}
