//! The GPU as a [`Backend`] of the architecture's block: the block's calls are collected,
//! then recorded as kernels (fused where [`crate::fuse`] finds a run it can do in one
//! pass), so a forward call's program comes from the same `forward` as the CPU engines'
//! work. A session records the decode program once and a prefill program per batch size,
//! then submits them with the step (position, tokens) written apart.

use hearth_model::Config;
use hearth_model::arch::{Act, Backend};

use crate::fuse::{Call, Fused, HEAD_NORM_SCRATCH, fusion};
use crate::kernels::{
    self, AttnHeads, AttnPartials, Cmd, Glu, KvType, MatvecIn, MatvecOut, Op, RopeHeads, Ropes,
};
use crate::{Gpu, GpuError, GpuTensor, GpuWeights, Result};

/// A layer's KV cache on the GPU and how it holds values.
pub(crate) struct KvCaches<'a> {
    pub k: &'a [GpuTensor], // per layer (n_ctx, kv_dim)
    pub v: &'a [GpuTensor], // per layer (n_ctx, kv_dim)
    pub ty: KvType,
    /// Flash-decoding splits, shared by the layers in turn.
    pub partials: &'a AttnPartials,
}

/// Records one forward call over `n` tokens of the session's token buffer (made by the
/// session with `calls` and `cmds` empty and `err` None).
pub(crate) struct Recorder<'a> {
    pub gpu: &'a Gpu,
    pub config: &'a Config,
    pub rope: &'a Ropes,
    pub tokens: &'a GpuTensor,
    /// The buffer of each activation, by [`Act::index`].
    pub acts: [&'a GpuTensor; 12],
    pub cache: KvCaches<'a>,
    pub step: &'a wgpu::Buffer,
    /// Tokens in the batch.
    pub n: usize,
    /// Rows whose logits are wanted: 1 (the last token's) or `n` (all).
    pub out_rows: usize,
    /// The block's calls, recorded by [`Recorder::finish`].
    pub calls: Vec<Call>,
    pub cmds: Vec<Cmd>,
    /// The first kernel that could not be made; the rest is not recorded.
    pub err: Option<GpuError>,
}

impl<'a> Recorder<'a> {
    /// The program of the calls made, fused where that saves a pass, or the first error.
    pub fn finish(mut self) -> Result<Vec<Cmd>> {
        let calls = std::mem::take(&mut self.calls);
        let mut i = 0;
        while i < calls.len() && self.err.is_none() {
            i += match fusion(&calls, i, self.n == 1, self.rope.global.neox) {
                Some(f) => self.fused(f),
                None => {
                    self.call(&calls[i]);
                    1
                }
            };
        }
        match self.err {
            Some(e) => Err(e),
            None => Ok(self.cmds),
        }
    }

    fn buf(&self, a: Act) -> &'a GpuTensor {
        self.acts[a.index()]
    }

    /// Rows of activation `a` in this call.
    fn rows(&self, a: Act) -> usize {
        if a.is_output() { self.out_rows } else { self.n }
    }

    fn push(&mut self, ops: Result<Vec<Op>>) {
        match ops {
            Ok(ops) if self.err.is_none() => self.cmds.extend(ops.into_iter().map(Cmd::from)),
            Ok(_) => {}
            Err(e) => {
                self.err.get_or_insert(e);
            }
        }
    }

    /// Records a fusion; returns the calls it stands for.
    fn fused(&mut self, f: Fused) -> usize {
        match f {
            Fused::Matvec {
                norm,
                x,
                outs,
                accumulate,
                glu,
                calls,
            } => {
                let input = MatvecIn {
                    x: self.buf(x),
                    norm: norm.map(|(_, w, eps)| (w, eps)),
                };
                match glu {
                    Some((act, out)) => {
                        let out = MatvecOut::Glu {
                            act,
                            gate: &outs[0].1,
                            up: &outs[1].1,
                            y: self.buf(out),
                        };
                        self.push(kernels::matvec_fused(self.gpu, input, out));
                    }
                    None => {
                        // one dispatch per weight format and width among the outputs
                        let mut groups: Vec<Vec<(&GpuWeights, &GpuTensor)>> = Vec::new();
                        for (a, w) in outs {
                            let y = self.buf(*a);
                            match groups.iter_mut().find(|g| {
                                g[0].0.ty == w.ty
                                    && g[0].0.cols == w.cols
                                    && g[0].0.row_words == w.row_words
                            }) {
                                Some(g) => g.push((w, y)),
                                None => groups.push(vec![(w, y)]),
                            }
                        }
                        for g in &groups {
                            let out = MatvecOut::Rows {
                                outs: g,
                                accumulate,
                            };
                            self.push(kernels::matvec_fused(self.gpu, input, out));
                        }
                    }
                }
                calls
            }
            Fused::RopeStore {
                layer,
                q,
                k,
                v,
                local,
            } => {
                let c = &self.cache;
                let ops = kernels::rope_store(
                    self.gpu,
                    [self.buf(q.0), self.buf(k.0), self.buf(v)],
                    [&c.k[layer], &c.v[layer]],
                    c.ty,
                    self.rope.pick(local),
                    self.step,
                    self.n,
                    RopeHeads {
                        n_q_heads: q.1,
                        n_kv_heads: k.1,
                        head_dim: self.config.head_dim,
                    },
                );
                self.push(ops);
                3
            }
        }
    }

    /// Records one call as the kernels that do it.
    fn call(&mut self, call: &Call) {
        match call {
            Call::Embedding { out, table, scale } => {
                let (tokens, out) = (self.tokens, self.buf(*out));
                let ops = kernels::embedding(self.gpu, table, tokens, self.n, out, *scale);
                self.push(ops);
            }
            Call::RmsNorm { out, x, w, eps } => {
                let rows = self.rows(*out);
                let ops = kernels::rms_norm(self.gpu, self.buf(*x), w, self.buf(*out), rows, *eps);
                self.push(ops);
            }
            Call::NormAdd { x, y, w, eps } => {
                let rows = self.rows(*x);
                let ops = kernels::norm_add(self.gpu, self.buf(*x), self.buf(*y), w, rows, *eps);
                self.push(ops);
            }
            Call::Linear {
                x,
                outs,
                accumulate,
            } => {
                let rows = self.rows(*x);
                for (out, w) in outs {
                    let (x, y) = (self.buf(*x), self.buf(*out));
                    // one row: the matrix-vector kernel, which reads the weights once at full width
                    let ops = match rows {
                        1 => kernels::matvec(self.gpu, w, x, y, *accumulate),
                        _ => kernels::matmul(self.gpu, w, x, rows, y, *accumulate),
                    };
                    self.push(ops);
                }
            }
            Call::Rope { x, n_heads, local } => {
                let ops = kernels::rope(
                    self.gpu,
                    self.buf(*x),
                    self.rope.pick(*local),
                    self.step,
                    self.n,
                    *n_heads,
                    self.config.head_dim,
                );
                self.push(ops);
            }
            Call::AddBias { x, b } => {
                let ops = kernels::add_bias(self.gpu, self.buf(*x), b, self.rows(*x));
                self.push(ops);
            }
            Call::HeadNorm { x, n_heads, w, eps } => {
                // rms_norm cannot write its input: the heads go to a scratch and back
                let (src, tmp) = (self.buf(*x), self.buf(HEAD_NORM_SCRATCH));
                let rows = self.rows(*x) * n_heads;
                let ops = kernels::rms_norm(self.gpu, src, w, tmp, rows, *eps);
                self.push(ops);
                self.cmds.push(Cmd::Copy {
                    src: tmp.buffer.clone(),
                    src_offset: 0,
                    dst: src.buffer.clone(),
                    dst_offset: 0,
                    size: (rows * w.len * 4) as u64,
                });
            }
            Call::KvStore { layer, k, v } => {
                let c = &self.cache;
                let ops = kernels::kv_store(
                    self.gpu,
                    self.buf(*k),
                    self.buf(*v),
                    &c.k[*layer],
                    &c.v[*layer],
                    c.ty,
                    self.step,
                    self.n,
                    self.config.kv_dim(),
                );
                self.push(ops);
            }
            Call::Attention {
                layer,
                out,
                q,
                window,
            } => {
                let c = &self.cache;
                let (kc, vc) = (&c.k[*layer], &c.v[*layer]);
                if self.n == 1 {
                    // one query: flash-decoding splits of the cache, then their combination
                    let split = kernels::attn_decode(
                        self.gpu,
                        self.buf(*q),
                        kc,
                        vc,
                        c.ty,
                        c.partials,
                        self.step,
                        *window,
                    );
                    let (out, step) = (self.buf(*out), self.step);
                    let combine = kernels::attn_combine(self.gpu, c.partials, out, step, *window);
                    self.push(split);
                    self.push(combine);
                } else {
                    let ops = kernels::attn_prefill(
                        self.gpu,
                        heads(self.config),
                        self.buf(*q),
                        kc,
                        vc,
                        c.ty,
                        self.buf(*out),
                        self.step,
                        self.n,
                        *window,
                    );
                    self.push(ops);
                }
            }
            Call::GluMul { act, out, gate, up } => {
                let len = self.rows(*out) * out.width(self.config);
                let ops = kernels::glu_mul(
                    self.gpu,
                    *act,
                    self.buf(*gate),
                    self.buf(*up),
                    self.buf(*out),
                    len,
                );
                self.push(ops);
            }
            Call::OutputRows { out, x } => {
                if self.out_rows == self.n {
                    // every row is wanted (or there is one): `out` is `x` itself
                    self.acts[out.index()] = self.buf(*x);
                    return;
                }
                // the last row, copied out
                let row = (x.width(self.config) * 4) as u64;
                self.cmds.push(Cmd::Copy {
                    src: self.buf(*x).buffer.clone(),
                    src_offset: (self.n as u64 - 1) * row,
                    dst: self.buf(*out).buffer.clone(),
                    dst_offset: 0,
                    size: row,
                });
            }
        }
    }
}

impl Backend for Recorder<'_> {
    type Matrix = GpuWeights;
    type Vector = GpuTensor;

    fn embedding(&mut self, out: Act, table: &GpuWeights, scale: f32) {
        let table = table.clone();
        self.calls.push(Call::Embedding { out, table, scale });
    }

    fn rms_norm(&mut self, out: Act, x: Act, w: &GpuTensor, eps: f32) {
        let w = w.clone();
        self.calls.push(Call::RmsNorm { out, x, w, eps });
    }

    fn norm_add(&mut self, x: Act, y: Act, w: &GpuTensor, eps: f32) {
        let w = w.clone();
        self.calls.push(Call::NormAdd { x, y, w, eps });
    }

    fn linear(&mut self, x: Act, outs: &[(Act, &GpuWeights)], accumulate: bool) {
        let outs = outs.iter().map(|&(a, w)| (a, w.clone())).collect();
        self.calls.push(Call::Linear {
            x,
            outs,
            accumulate,
        });
    }

    fn rope(&mut self, x: Act, n_heads: usize, local: bool) {
        self.calls.push(Call::Rope { x, n_heads, local });
    }

    fn add_bias(&mut self, x: Act, b: &GpuTensor) {
        self.calls.push(Call::AddBias { x, b: b.clone() });
    }

    fn head_norm(&mut self, x: Act, n_heads: usize, w: &GpuTensor, eps: f32) {
        let w = w.clone();
        self.calls.push(Call::HeadNorm { x, n_heads, w, eps });
    }

    fn kv_store(&mut self, layer: usize, k: Act, v: Act) {
        self.calls.push(Call::KvStore { layer, k, v });
    }

    fn attention(&mut self, layer: usize, out: Act, q: Act, window: Option<usize>) {
        let call = Call::Attention {
            layer,
            out,
            q,
            window,
        };
        self.calls.push(call);
    }

    fn silu_mul(&mut self, out: Act, gate: Act, up: Act) {
        let act = Glu::Silu;
        self.calls.push(Call::GluMul { act, out, gate, up });
    }

    fn gelu_mul(&mut self, out: Act, gate: Act, up: Act) {
        let act = Glu::Gelu;
        self.calls.push(Call::GluMul { act, out, gate, up });
    }

    fn output_rows(&mut self, out: Act, x: Act) {
        self.calls.push(Call::OutputRows { out, x });
    }
}

/// The attention heads of `c`.
pub(crate) fn heads(c: &Config) -> AttnHeads {
    AttnHeads {
        n_head: c.n_head,
        n_head_kv: c.n_head_kv,
        head_dim: c.head_dim,
    }
}
