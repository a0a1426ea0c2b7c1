//! WGSL sources and the one templating step: a line `#include "common/x.wgsl"` splices a
//! shared helper, `#include format` splices the weight format of the pipeline
//! (`shaders/formats/<type>.wgsl`), and `#include kv` the KV cache's type
//! (`shaders/common/kv_f32.wgsl` or `kv_f16.wgsl`, picked by the pipeline's format F32/F16). Nothing else is generated: every kernel is a file a
//! reader can open.

use hearth_gguf::GgmlType;

use crate::{GpuError, Result};

macro_rules! shader {
    ($path:literal) => {
        ($path, include_str!(concat!("../../../shaders/", $path)))
    };
}

/// A compute kernel: one `.wgsl` file under `shaders/`, entry point `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `embedding.wgsl`: rows of a quantized matrix, picked by token ids, as f32.
    Embedding,
    /// `matvec.wgsl`: y = W·x for one token, W in any block format.
    Matvec,
    /// `matvec_subgroup.wgsl`: the same, a row's parts added by subgroup operations.
    MatvecSubgroup,
    /// `matvec_rowwise.wgsl`: the same for CPU drivers: whole rows per invocation, x uniform.
    MatvecRowwise,
    /// `matmul.wgsl`: Y = X·Wᵀ for many tokens (prefill), tiled in workgroup memory.
    Matmul,
    /// `rms_norm.wgsl`: RMSNorm of each token's row, times the norm weight (or added).
    RmsNorm,
    /// `rope.wgsl`: rotary position embedding of q or k heads, in place.
    Rope,
    /// `rope_store.wgsl`: RoPE of q and k and the KV store in one pass.
    RopeStore,
    /// `silu_mul.wgsl`: silu(gate) · up (or gelu(gate) · up), elementwise.
    SiluMul,
    /// `add.wgsl`: x += y, elementwise.
    Add,
    /// `kv_store.wgsl`: copies new k and v rows into the KV cache.
    KvStore,
    /// `attn_decode.wgsl`: flash-decoding, one split of the KV range per workgroup.
    AttnDecode,
    /// `attn_combine.wgsl`: merges the splits of attn_decode into each head's output.
    AttnCombine,
    /// `attn_prefill.wgsl`: causal attention of many new tokens, tiled.
    AttnPrefill,
    /// `sample.wgsl`: picks the next token on the GPU.
    Sample,
    /// `sample_prep.wgsl`: first pass of sampling: penalty, sort keys, argmax, histogram.
    SamplePrep,
    /// `sample_select.wgsl`: one digit of the radix search for the top candidates.
    SampleSelect,
    /// `stream_read.wgsl`: reads a buffer at full speed (the bandwidth roofline).
    StreamRead,
}

impl Kernel {
    fn file(self) -> (&'static str, &'static str) {
        match self {
            Kernel::Embedding => shader!("embedding.wgsl"),
            Kernel::Matvec => shader!("matvec.wgsl"),
            Kernel::MatvecSubgroup => shader!("matvec_subgroup.wgsl"),
            Kernel::MatvecRowwise => shader!("matvec_rowwise.wgsl"),
            Kernel::Matmul => shader!("matmul.wgsl"),
            Kernel::RmsNorm => shader!("rms_norm.wgsl"),
            Kernel::Rope => shader!("rope.wgsl"),
            Kernel::RopeStore => shader!("rope_store.wgsl"),
            Kernel::SiluMul => shader!("silu_mul.wgsl"),
            Kernel::Add => shader!("add.wgsl"),
            Kernel::KvStore => shader!("kv_store.wgsl"),
            Kernel::AttnDecode => shader!("attn_decode.wgsl"),
            Kernel::AttnCombine => shader!("attn_combine.wgsl"),
            Kernel::AttnPrefill => shader!("attn_prefill.wgsl"),
            Kernel::Sample => shader!("sample.wgsl"),
            Kernel::SamplePrep => shader!("sample_prep.wgsl"),
            Kernel::SampleSelect => shader!("sample_select.wgsl"),
            Kernel::StreamRead => shader!("stream_read.wgsl"),
        }
    }

    /// The file name, e.g. `matvec.wgsl`.
    pub fn name(self) -> &'static str {
        self.file().0
    }

    /// The kernel's WGSL with its includes spliced in.
    pub fn source(self, format: Option<GgmlType>) -> Result<String> {
        let (name, src) = self.file();
        let mut out = String::with_capacity(src.len() * 2);
        let mut seen = Vec::new();
        expand(name, src, format, &mut out, &mut seen)?;
        // Tint (the browser) wants `enable subgroups;` before subgroup built-ins; naga
        // (natively) rejects the directive and checks its SUBGROUP capability instead
        #[cfg(not(target_arch = "wasm32"))]
        let out = out.replace("enable subgroups;\n", "");
        Ok(out)
    }
}

/// Appends `src` to `out`, replacing each `#include` line by the file it names (each file
/// once, however often it is included).
fn expand(
    name: &str,
    src: &str,
    format: Option<GgmlType>,
    out: &mut String,
    seen: &mut Vec<&'static str>,
) -> Result<()> {
    for line in src.lines() {
        let Some(arg) = line.trim().strip_prefix("#include ") else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let path = match arg.trim() {
            "format" => {
                let ty = format
                    .ok_or_else(|| GpuError::Shape(format!("{name} needs a weight format")))?;
                if !FORMATS.contains(&ty) {
                    return Err(GpuError::Shape(format!(
                        "no GPU kernels for {ty:?} weights yet"
                    )));
                }
                format_file(ty)?
            }
            "kv" => match format {
                Some(GgmlType::F32) => "common/kv_f32.wgsl",
                Some(GgmlType::F16) => "common/kv_f16.wgsl",
                other => {
                    return Err(GpuError::Shape(format!(
                        "{name}: no KV cache of type {other:?}"
                    )));
                }
            },
            quoted => quoted.trim_matches('"'),
        };
        let &(path, inc) = INCLUDES
            .iter()
            .find(|(p, _)| *p == path)
            .ok_or_else(|| GpuError::Shape(format!("{name}: unknown WGSL include {path:?}")))?;
        if !seen.contains(&path) {
            seen.push(path);
            expand(path, inc, format, out, seen)?;
        }
    }
    Ok(())
}

/// Shared helpers and weight formats that kernels include.
const INCLUDES: &[(&str, &str)] = &[
    shader!("common/f16.wgsl"),
    shader!("common/step.wgsl"),
    shader!("common/rope_turn.wgsl"),
    shader!("common/silu.wgsl"),
    shader!("common/gelu.wgsl"),
    shader!("common/matvec_io.wgsl"),
    shader!("common/matvec_row.wgsl"),
    shader!("common/kv_f32.wgsl"),
    shader!("common/kv_f16.wgsl"),
    shader!("sample_common.wgsl"),
    shader!("formats/f32.wgsl"),
    shader!("formats/f16.wgsl"),
    shader!("formats/bf16.wgsl"),
    shader!("formats/q4_0.wgsl"),
    shader!("formats/q4_1.wgsl"),
    shader!("formats/q5_0.wgsl"),
    shader!("formats/q5_1.wgsl"),
    shader!("formats/q8_0.wgsl"),
    shader!("formats/q2_k.wgsl"),
    shader!("formats/q3_k.wgsl"),
    shader!("formats/q4_k.wgsl"),
    shader!("formats/q5_k.wgsl"),
    shader!("formats/q6_k.wgsl"),
];

/// The WGSL file that decodes `ty`'s GPU blocks.
fn format_file(ty: GgmlType) -> Result<&'static str> {
    Ok(match ty {
        GgmlType::F32 => "formats/f32.wgsl",
        GgmlType::F16 => "formats/f16.wgsl",
        GgmlType::BF16 => "formats/bf16.wgsl",
        GgmlType::Q4_0 => "formats/q4_0.wgsl",
        GgmlType::Q4_1 => "formats/q4_1.wgsl",
        GgmlType::Q5_0 => "formats/q5_0.wgsl",
        GgmlType::Q5_1 => "formats/q5_1.wgsl",
        GgmlType::Q8_0 => "formats/q8_0.wgsl",
        GgmlType::Q2_K => "formats/q2_k.wgsl",
        GgmlType::Q3_K => "formats/q3_k.wgsl",
        GgmlType::Q4_K => "formats/q4_k.wgsl",
        GgmlType::Q5_K => "formats/q5_k.wgsl",
        GgmlType::Q6_K => "formats/q6_k.wgsl",
        other => {
            return Err(GpuError::Shape(format!(
                "no GPU kernels for {other:?} weights yet"
            )));
        }
    })
}

/// The weight formats the GPU kernels decode.
pub const FORMATS: &[GgmlType] = &[
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

/// What identifies a compiled pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PipelineKey {
    kernel: Kernel,
    format: Option<GgmlType>,
    overrides: Vec<(&'static str, u32)>,
}

impl PipelineKey {
    pub fn new(
        kernel: Kernel,
        format: Option<GgmlType>,
        overrides: &[(&'static str, u32)],
    ) -> Self {
        PipelineKey {
            kernel,
            format,
            overrides: overrides.to_vec(),
        }
    }

    /// The wgpu label: kernel file, format and overrides, so errors name the kernel.
    pub fn label(&self) -> String {
        let mut s = self.kernel.name().to_string();
        if let Some(f) = self.format {
            s.push_str(&format!(" [{f:?}]"));
        }
        for (k, v) in &self.overrides {
            s.push_str(&format!(" {k}={v}"));
        }
        s
    }
}
