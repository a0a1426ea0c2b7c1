//! Rust wrappers of the kernels: each checks shapes and builds [`Op`]s (pipeline, bind group,
//! workgroup counts) once, so that running a token only encodes prepared ops.

use std::sync::Arc;

use wgpu::util::DeviceExt;

use crate::Gpu;

mod add;
mod attention;
mod embedding;
mod kv_store;
mod matmul;
mod matvec;
mod rms_norm;
mod rope;
mod rope_store;
mod sample;
mod silu_mul;
mod stream_read;

pub use add::{add, add_bias};
pub use attention::{ATTN_SPLIT, AttnHeads, AttnPartials, attn_combine, attn_decode, attn_prefill};
pub use embedding::embedding;
pub use kv_store::{KvType, kv_store};
pub(crate) use matmul::SMALL_TILE_T;
pub use matmul::matmul;
pub use matvec::{MatvecIn, MatvecOut, matvec, matvec_fused};
pub use rms_norm::{norm_add, rms_norm};
pub use rope::{RopeFreqs, Ropes, rope};
pub use rope_store::{RopeHeads, rope_store};
pub use sample::{GpuSampler, SAMPLE_CAP, SAMPLE_ERROR, SAMPLE_ON_CPU};
pub use silu_mul::{Glu, gelu_mul, glu_mul, silu_mul};
pub use stream_read::{stream_read, stream_read_out_len};

/// Invocations per workgroup of the matvec and embedding kernels.
pub const WG_SIZE: u32 = 64;
/// Most workgroups in one dispatch dimension (WebGPU's guaranteed minimum).
pub(crate) const MAX_GROUPS: u32 = 65535;

/// Per-call values written into one small uniform buffer before each submit (WGSL:
/// `shaders/common/step.wgsl`), so that ops prepared at load time follow the position.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Step {
    /// Position of the first token of this call.
    pub pos: u32,
    /// Tokens in this call (1 when decoding).
    pub n_tokens: u32,
    /// Positions in the KV cache after this call: pos + n_tokens.
    pub kv_len: u32,
    /// Index of this draw in the sampler's sequence.
    pub sample: u32,
}

impl Step {
    /// A uniform buffer holding `self`, to be rewritten with `write` before each submit.
    pub fn buffer(&self, gpu: &Gpu) -> wgpu::Buffer {
        uniform(gpu, "step", self)
    }
    /// Writes `self` into a buffer made by [`Step::buffer`].
    pub fn write(&self, gpu: &Gpu, buffer: &wgpu::Buffer) {
        gpu.queue.write_buffer(buffer, 0, bytemuck::bytes_of(self));
    }
}

/// One prepared dispatch.
pub struct Op {
    pipeline: Arc<crate::context::Pipeline>,
    bind_group: wgpu::BindGroup,
    groups: [u32; 3],
    /// Workgroup counts read from this buffer when the op runs (three u32), instead of
    /// `groups`: for dispatches whose size follows the cache length.
    indirect: Option<wgpu::Buffer>,
}

impl Op {
    /// The kernel's label: file, weight format and overrides.
    pub fn label(&self) -> &str {
        &self.pipeline.label
    }

    /// Records the dispatch into a compute pass.
    pub fn encode(&self, pass: &mut wgpu::ComputePass) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        match &self.indirect {
            Some(counts) => pass.dispatch_workgroups_indirect(counts, 0),
            None => pass.dispatch_workgroups(self.groups[0], self.groups[1], self.groups[2]),
        }
    }
}

/// A recorded forward call: dispatches, and buffer copies between them.
pub enum Cmd {
    /// A prepared dispatch.
    Op(Op),
    /// `size` bytes from `src` at `src_offset` to `dst` at `dst_offset`.
    Copy {
        src: wgpu::Buffer,
        src_offset: u64,
        dst: wgpu::Buffer,
        dst_offset: u64,
        size: u64,
    },
}

impl From<Op> for Cmd {
    fn from(op: Op) -> Cmd {
        Cmd::Op(op)
    }
}

/// Records `cmds` in order into `encoder`: each run of dispatches in one compute pass.
pub fn encode(encoder: &mut wgpu::CommandEncoder, cmds: &[Cmd]) {
    let mut i = 0;
    while i < cmds.len() {
        match &cmds[i] {
            Cmd::Copy {
                src,
                src_offset,
                dst,
                dst_offset,
                size,
            } => {
                encoder.copy_buffer_to_buffer(src, *src_offset, dst, *dst_offset, *size);
                i += 1;
            }
            Cmd::Op(_) => {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                while let Some(Cmd::Op(op)) = cmds.get(i) {
                    op.encode(&mut pass);
                    i += 1;
                }
            }
        }
    }
}

/// Encodes `ops` in order in one compute pass of one command buffer and submits it.
pub fn submit(gpu: &Gpu, ops: &[Op]) {
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        for op in ops {
            op.encode(&mut pass);
        }
    }
    gpu.queue.submit([encoder.finish()]);
}

pub(crate) fn uniform<T: bytemuck::Pod>(gpu: &Gpu, label: &str, value: &T) -> wgpu::Buffer {
    gpu.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::bytes_of(value),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        })
}

pub(crate) fn bind(
    gpu: &Gpu,
    pipeline: &wgpu::ComputePipeline,
    label: &str,
    buffers: &[&wgpu::Buffer],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    })
}

/// Workgroup counts for `n` workgroups, folded into 2-D above the per-dimension limit.
pub(crate) fn groups_2d(n: u32) -> [u32; 3] {
    if n <= MAX_GROUPS {
        [n, 1, 1]
    } else {
        [MAX_GROUPS, n.div_ceil(MAX_GROUPS), 1]
    }
}
