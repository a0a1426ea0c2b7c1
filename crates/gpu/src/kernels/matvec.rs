//! Wrapper of matvec.wgsl and matvec_rowwise.wgsl: y = W·x for one token, several matrices
//! in one dispatch, with the norm before it and SwiGLU (or GeGLU) after it folded in.

use super::{Glu, Op, WG_SIZE, groups_2d, uniform};
use crate::tensor::UNIFORM_BINDING;
use crate::{Gpu, GpuError, GpuTensor, GpuWeights, Kernel, Result};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct MatvecParams {
    cols: u32,
    row_words: u32,
    accumulate: u32,
    eps: f32,
    seg_rows: [u32; 4],
    seg_start: [u32; 4],
    y_offset: [u32; 4],
}

/// Invocations per workgroup of matvec_rowwise.wgsl: small, so that even a 192-row matrix
/// is several workgroups for the driver's threads (16 measured best on lavapipe, 2 cores).
const ROWWISE_WG_SIZE: u32 = 16;

/// Invocations per workgroup of matvec_subgroup.wgsl: several rows per workgroup (4 of 32
/// invocations), few enough that a 192-row matrix still spreads over 48 workgroups.
const SUBGROUP_WG_SIZE: u32 = 128;

/// Most rows one invocation dots in matvec_rowwise.wgsl (`MAX_ROWS` there).
const MAX_ROWS: u32 = 4;

/// Weight bindings (and y bindings) of one dispatch.
const SEGMENTS: usize = 3;

/// What a matvec writes.
#[derive(Clone, Copy)]
pub enum MatvecOut<'a> {
    /// y = W·x for each (W, y), or y += W·x with `accumulate`; every W of one format and
    /// width (up to three matrices, or parts of split ones, run in one dispatch).
    Rows {
        outs: &'a [(&'a GpuWeights, &'a GpuTensor)],
        accumulate: bool,
    },
    /// y = act(gate·x) · (up·x): SwiGLU's (or GeGLU's) gate and up of one format and shape.
    Glu {
        act: Glu,
        gate: &'a GpuWeights,
        up: &'a GpuWeights,
        y: &'a GpuTensor,
    },
}

/// The input of a matvec: x, RMS-normed first with `norm` = (weight, eps).
#[derive(Clone, Copy)]
pub struct MatvecIn<'a> {
    pub x: &'a GpuTensor,
    pub norm: Option<(&'a GpuTensor, f32)>,
}

/// y = W·x (or y += W·x with `accumulate`) for one token: W is rows × cols, x holds cols
/// floats, y rows. Twin: `hearth_model::ops::matvec`.
pub fn matvec(
    gpu: &Gpu,
    w: &GpuWeights,
    x: &GpuTensor,
    y: &GpuTensor,
    accumulate: bool,
) -> Result<Vec<Op>> {
    let outs = [(w, y)];
    matvec_fused(
        gpu,
        MatvecIn { x, norm: None },
        MatvecOut::Rows {
            outs: &outs,
            accumulate,
        },
    )
}

impl Gpu {
    /// The matvec kernel this device's settings pick for decode: matvec_rowwise.wgsl on CPU
    /// drivers (x that fits a uniform binding), else matvec_subgroup.wgsl with subgroups,
    /// else matvec.wgsl.
    pub fn matvec_kernel(&self) -> Kernel {
        if self.matvec_row_threads <= 1 {
            Kernel::MatvecRowwise
        } else if self.subgroups {
            Kernel::MatvecSubgroup
        } else {
            Kernel::Matvec
        }
    }
}

/// One matrix part a dispatch dots: its weight buffers (the second for GLU's up), rows,
/// and where its results go.
struct Segment<'a> {
    w: [&'a wgpu::Buffer; 2],
    rows: usize,
    y: &'a wgpu::Buffer,
    y_offset: usize,
}

/// The matvec `out` of `input` for one token, in as few dispatches as the binding limits
/// allow. With `matvec_row_threads` 1 (CPU drivers) and rows that fit x in a uniform
/// binding, matvec_rowwise.wgsl; otherwise matvec_subgroup.wgsl where the device has
/// subgroups, else matvec.wgsl. Twin:
/// `hearth_model::ops::{rms_norm, matvec, silu_mul, gelu_mul}`.
pub fn matvec_fused(gpu: &Gpu, input: MatvecIn, out: MatvecOut) -> Result<Vec<Op>> {
    let (first, glu, accumulate) = match out {
        MatvecOut::Rows { outs, accumulate } => match outs.first() {
            Some((w, _)) => (*w, None, accumulate),
            None => return Ok(Vec::new()),
        },
        MatvecOut::Glu { act, gate, .. } => (gate, Some(act), false),
    };
    let (ty, cols, row_words) = (first.ty, first.cols, first.row_words);
    let x = input.x;
    let shape_err = |what: &str| {
        GpuError::Shape(format!(
            "matvec of {}×{cols} {ty:?} weights with x of {}: {what}",
            first.rows, x.len
        ))
    };
    if x.len < cols || !cols.is_multiple_of(4) {
        return Err(shape_err("x too short, or a width not a multiple of 4"));
    }
    if let Some((g, _)) = input.norm
        && g.len < cols
    {
        return Err(shape_err("a norm weight shorter than the rows"));
    }
    let same = |w: &GpuWeights| w.ty == ty && w.cols == cols && w.row_words == row_words;
    let mut segments = Vec::new();
    match out {
        MatvecOut::Rows { outs, .. } => {
            for &(w, y) in outs {
                if !same(w) || y.len < w.rows || y.buffer == x.buffer {
                    return Err(shape_err(&format!(
                        "a {}×{} {:?} matrix into y of {} (one format and width, y not x)",
                        w.rows, w.cols, w.ty, y.len
                    )));
                }
                segments.extend(w.parts.iter().map(|part| Segment {
                    w: [&part.buffer; 2],
                    rows: part.rows,
                    y: &y.buffer,
                    y_offset: part.first_row,
                }));
            }
        }
        MatvecOut::Glu { gate, up, y, .. } => {
            let parts_match = gate.parts.len() == up.parts.len()
                && gate
                    .parts
                    .iter()
                    .zip(&up.parts)
                    .all(|(a, b)| a.rows == b.rows && a.first_row == b.first_row);
            if !same(up)
                || up.rows != gate.rows
                || !parts_match
                || y.len < gate.rows
                || y.buffer == x.buffer
            {
                return Err(shape_err("gate and up of other shapes, or y too short"));
            }
            segments.extend(gate.parts.iter().zip(&up.parts).map(|(g, u)| Segment {
                w: [&g.buffer, &u.buffer],
                rows: g.rows,
                y: &y.buffer,
                y_offset: g.first_row,
            }));
        }
    }

    // GLU dots two matrices per segment: one segment per dispatch
    let per_dispatch = if glu.is_some() { 1 } else { SEGMENTS };
    let batches = dispatches(&segments, per_dispatch);
    // one segment in every dispatch (most matvecs): the kernels pick the binding statically
    let segs = if batches.iter().all(|b| b.len() == 1) {
        1
    } else {
        SEGMENTS as u32
    };
    let row_threads = gpu.matvec_row_threads.clamp(1, WG_SIZE);
    if !row_threads.is_power_of_two() {
        return Err(GpuError::Shape(format!(
            "matvec: {row_threads} threads per row is not a power of two"
        )));
    }
    // CPU drivers: whole rows per invocation, x in a uniform binding when it fits
    let rowwise = row_threads == 1 && cols as u64 * 4 <= UNIFORM_BINDING;
    let glu_flag = glu.is_some() as u32;
    let gelu_flag = glu.map_or(0, Glu::gelu_flag);
    let norm_flag = input.norm.is_some() as u32;
    let (pipeline, rows_per_group) = if rowwise {
        let rows = gpu.matvec_rows.clamp(1, MAX_ROWS);
        let overrides = [
            ("WG_SIZE", ROWWISE_WG_SIZE),
            ("ROWS", rows),
            ("GLU", glu_flag),
            ("GELU", gelu_flag),
            ("SEGS", segs),
            ("NORM", norm_flag),
        ];
        let pipeline = gpu.pipeline(Kernel::MatvecRowwise, Some(ty), &overrides)?;
        (pipeline, ROWWISE_WG_SIZE * rows)
    } else if gpu.subgroups {
        // a row is whole subgroups: its width a multiple of the largest subgroup
        let row_threads = row_threads
            .max(gpu.subgroup_max.next_power_of_two())
            .min(SUBGROUP_WG_SIZE);
        let overrides = [
            ("WG_SIZE", SUBGROUP_WG_SIZE),
            ("ROW_THREADS", row_threads),
            ("GLU", glu_flag),
            ("GELU", gelu_flag),
            ("SEGS", segs),
            ("NORM", norm_flag),
        ];
        let pipeline = gpu.pipeline(Kernel::MatvecSubgroup, Some(ty), &overrides)?;
        (pipeline, SUBGROUP_WG_SIZE / row_threads)
    } else {
        let overrides = [
            ("WG_SIZE", WG_SIZE),
            ("ROW_THREADS", row_threads),
            ("GLU", glu_flag),
            ("GELU", gelu_flag),
            ("SEGS", segs),
            ("NORM", norm_flag),
        ];
        let pipeline = gpu.pipeline(Kernel::Matvec, Some(ty), &overrides)?;
        (pipeline, WG_SIZE / row_threads)
    };
    let (g, eps) = input.norm.unwrap_or((x, 0.0));
    let layout = pipeline.get_bind_group_layout(0);
    batches
        .into_iter()
        .map(|segs| {
            let mut params = MatvecParams {
                cols: cols as u32,
                row_words: row_words as u32,
                accumulate: accumulate as u32,
                eps,
                seg_rows: [0; 4],
                seg_start: [u32::MAX; 4],
                y_offset: [0; 4],
            };
            let mut groups = 0u32;
            for (i, s) in segs.iter().enumerate() {
                params.seg_rows[i] = s.rows as u32;
                params.seg_start[i] = groups;
                params.y_offset[i] = s.y_offset as u32;
                groups += (s.rows as u32).div_ceil(rows_per_group);
            }
            let p = uniform(gpu, "matvec params", &params);
            let seg = |i: usize| segs.get(i).unwrap_or(&segs[0]);
            let ws = [
                seg(0).w[0],
                if glu.is_some() {
                    seg(0).w[1]
                } else {
                    seg(1).w[0]
                },
                seg(2).w[0],
            ];
            // unused outputs go to the spare buffer (read-only weights may alias)
            let y = |i: usize| {
                segs.get(i)
                    .map_or(gpu.spare(i), |s| s.y.as_entire_binding())
            };
            let resources = [
                ws[0].as_entire_binding(),
                ws[1].as_entire_binding(),
                ws[2].as_entire_binding(),
                vector(x, rowwise),
                vector(g, rowwise),
                y(0),
                y(1),
                y(2),
                p.as_entire_binding(),
            ];
            let entries: Vec<wgpu::BindGroupEntry> = resources
                .into_iter()
                .enumerate()
                .map(|(i, resource)| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource,
                })
                .collect();
            let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(&pipeline.label),
                layout: &layout,
                entries: &entries,
            });
            Ok(Op {
                bind_group,
                pipeline: pipeline.clone(),
                groups: groups_2d(groups),
                indirect: None,
            })
        })
        .collect()
}

/// Segments in dispatches of at most `most`, in order, no two of one dispatch writing the
/// same buffer (WebGPU forbids aliased writable bindings): the parts of a split matrix,
/// which share their y, go one per dispatch.
fn dispatches<'s, 'a>(segments: &'s [Segment<'a>], most: usize) -> Vec<&'s [Segment<'a>]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..segments.len() {
        let shares = segments[start..i].iter().any(|s| s.y == segments[i].y);
        if i - start == most || shares {
            out.push(&segments[start..i]);
            start = i;
        }
    }
    if start < segments.len() {
        out.push(&segments[start..]);
    }
    out
}

/// The binding of a vector input: the whole buffer, or its first [`UNIFORM_BINDING`] bytes
/// read as a uniform (matvec_rowwise.wgsl).
fn vector(t: &GpuTensor, uniform: bool) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer: &t.buffer,
        offset: 0,
        size: if uniform {
            std::num::NonZeroU64::new(UNIFORM_BINDING)
        } else {
            None
        },
    })
}
