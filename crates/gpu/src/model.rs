//! The Llama forward pass on the GPU. Ops are recorded in the same order and under the
//! same names as the CPU reference (`hearth_model::Model::forward`), so the two read side
//! by side. Decode ops are prepared once per session; a token is one command buffer whose
//! only readback is the 4-byte id the GPU sampler chose.

use hearth_gguf::Gguf;
use hearth_model::Config;

use hearth_model::StopRule;
use hearth_model::sampler::Sampler;

use crate::kernels::{
    self, AttnHeads, AttnPartials, Cmd, GpuSampler, KvType, Op, SAMPLE_ERROR, SAMPLE_ON_CPU, Step,
};
use crate::weights::{GpuModelWeights, TensorSource};
use crate::{Gpu, GpuError, GpuTensor, Result};

/// A Llama model on the GPU: config and weights, immutable once loaded.
pub struct GpuModel {
    pub gpu: Gpu,
    pub config: Config,
    pub weights: GpuModelWeights,
}

impl GpuModel {
    /// Uploads the model described by `gguf`, reading tensor bytes from `src`.
    pub fn load(gpu: Gpu, gguf: &Gguf, src: &dyn TensorSource) -> Result<GpuModel> {
        let config = Config::from_gguf(gguf)?;
        let weights = GpuModelWeights::upload(&gpu, gguf, &config, src)?;
        Ok(GpuModel {
            gpu,
            config,
            weights,
        })
    }

    /// Bytes of weights one decoded token reads: every matrix once, plus one embedding row.
    pub fn weight_bytes_per_token(&self) -> u64 {
        let w = &self.weights;
        let m = |g: &crate::GpuWeights| (g.rows * g.row_words * 4) as u64;
        let layers: u64 = w
            .layers
            .iter()
            .map(|l| {
                m(&l.attn_q)
                    + m(&l.attn_k)
                    + m(&l.attn_v)
                    + m(&l.attn_output)
                    + m(&l.ffn_gate)
                    + m(&l.ffn_up)
                    + m(&l.ffn_down)
            })
            .sum();
        layers + m(w.lm_head()) + (w.token_embd.row_words * 4) as u64
    }
}

/// The model a session runs: borrowed, or shared (a session that owns its model's handle,
/// as the browser engine keeps one next to the model).
#[derive(Clone)]
enum ModelRef<'m> {
    Borrowed(&'m GpuModel),
    Shared(std::rc::Rc<GpuModel>),
}

impl std::ops::Deref for ModelRef<'_> {
    type Target = GpuModel;
    fn deref(&self) -> &GpuModel {
        match self {
            ModelRef::Borrowed(m) => m,
            ModelRef::Shared(m) => m,
        }
    }
}

/// Activations for up to `n_batch` tokens at once (run.c's names), made once per session.
struct Scratch {
    tokens: GpuTensor,  // (n_batch) u32 ids; the sampler writes the next id into [0]
    x: GpuTensor,       // (n_batch, n_embd) residual stream
    xb: GpuTensor,      // (n_batch, n_embd) normed input of a sublayer
    q: GpuTensor,       // (n_batch, q_dim)
    k: GpuTensor,       // (n_batch, kv_dim)
    v: GpuTensor,       // (n_batch, kv_dim)
    att_out: GpuTensor, // (n_batch, q_dim)
    gate: GpuTensor,    // (n_batch, n_ff)
    up: GpuTensor,      // (n_batch, n_ff)
    hb: GpuTensor,      // (n_batch, n_ff) silu(gate) · up
    last_x: GpuTensor,  // (n_embd) the residual stream of the last token of a batch
    last: GpuTensor,    // (n_embd) last_x normed, input of the lm-head
    logits: GpuTensor,  // (n_vocab)
}

/// One conversation: KV cache, scratch, prepared decode ops.
pub struct Session<'m> {
    model: ModelRef<'m>,
    n_ctx: usize,
    n_batch: usize,
    len: usize,
    k_cache: Vec<GpuTensor>, // per layer (n_ctx, kv_dim)
    v_cache: Vec<GpuTensor>, // per layer (n_ctx, kv_dim)
    kv: KvType,              // how the caches hold values
    s: Scratch,
    partials: AttnPartials, // flash-decoding splits, shared by the layers in turn
    step: wgpu::Buffer,
    readback: wgpu::Buffer, // 4 bytes: the sampled id
    decode: Vec<Cmd>,
}

impl<'m> Session<'m> {
    /// A session of up to `n_ctx` positions (at most the trained context), processing
    /// prompts in batches of up to `n_batch` tokens.
    pub fn new(model: &'m GpuModel, n_ctx: usize, n_batch: usize) -> Result<Session<'m>> {
        Session::with_model(ModelRef::Borrowed(model), n_ctx, n_batch)
    }

    fn with_model(model: ModelRef<'m>, n_ctx: usize, n_batch: usize) -> Result<Session<'m>> {
        let handle = model.clone();
        let (g, c) = (&handle.gpu, &handle.config);
        let n_ctx = n_ctx.min(c.n_ctx_train).max(1);
        let n_batch = n_batch.clamp(1, n_ctx);
        let t = |n: usize, label: &str| GpuTensor::zeros(g, n_batch * n, label);
        let s = Scratch {
            tokens: GpuTensor::zeros(g, n_batch, "tokens"),
            x: t(c.n_embd, "x"),
            xb: t(c.n_embd, "xb"),
            q: t(c.q_dim(), "q"),
            k: t(c.kv_dim(), "k"),
            v: t(c.kv_dim(), "v"),
            att_out: t(c.q_dim(), "att_out"),
            gate: t(c.n_ff, "gate"),
            up: t(c.n_ff, "up"),
            hb: t(c.n_ff, "hb"),
            last_x: GpuTensor::zeros(g, c.n_embd, "last_x"),
            last: GpuTensor::zeros(g, c.n_embd, "last"),
            logits: GpuTensor::zeros(g, c.n_vocab, "logits"),
        };
        let kv = g.kv_type;
        let cache = |label: &str| {
            (0..c.n_layer)
                .map(|_| GpuTensor::zeros(g, kv.words(n_ctx * c.kv_dim()), label))
                .collect()
        };
        let mut session = Session {
            model,
            n_ctx,
            n_batch,
            len: 0,
            k_cache: cache("k_cache"),
            v_cache: cache("v_cache"),
            kv,
            s,
            partials: AttnPartials::new(g, heads(c), n_ctx),
            step: Step::default().buffer(g),
            readback: g.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("token readback"),
                size: 4,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            decode: Vec::new(),
        };
        session.decode = session.record_last(1, true)?;
        Ok(session)
    }

    /// Positions cached so far.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True before the first token.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// [`Session::new`] holding a shared handle to its model instead of a borrow.
    pub fn shared(
        model: std::rc::Rc<GpuModel>,
        n_ctx: usize,
        n_batch: usize,
    ) -> Result<Session<'static>> {
        Session::with_model(ModelRef::Shared(model), n_ctx, n_batch)
    }

    /// Most positions this session takes.
    pub fn capacity(&self) -> usize {
        self.n_ctx
    }
    /// How the KV cache holds values (the GPU's `kv_type` when the session was made).
    pub fn kv_type(&self) -> KvType {
        self.kv
    }
    /// Forgets every position (a new conversation).
    pub fn clear(&mut self) {
        self.len = 0;
    }
    /// Forgets positions from `len` on (to rewind to a shared prefix).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// The ops of one forward call over `n` tokens in `s.tokens`, in the order of the CPU
    /// reference. `decode` picks the single-token kernels (matvec, flash-decoding).
    fn record(&self, n: usize, decode: bool) -> Result<Vec<Cmd>> {
        let (g, c, w, s) = (
            &self.model.gpu,
            &self.model.config,
            &self.model.weights,
            &self.s,
        );
        let mut ops: Vec<Cmd> = Vec::new();
        let linear = |ops: &mut Vec<Cmd>, wt, x, y, acc| -> Result<()> {
            let new = match decode {
                true => kernels::matvec(g, wt, x, y, acc)?,
                false => kernels::matmul(g, wt, x, n, y, acc)?,
            };
            ops.extend(new.into_iter().map(Cmd::from));
            Ok(())
        };
        let push = |ops: &mut Vec<Cmd>, new: Vec<Op>| ops.extend(new.into_iter().map(Cmd::from));

        // token embedding
        push(
            &mut ops,
            kernels::embedding(g, &w.token_embd, &s.tokens, n, &s.x)?,
        );

        let kv = self.kv;
        for (l, lw) in w.layers.iter().enumerate() {
            let (k_cache, v_cache) = (&self.k_cache[l], &self.v_cache[l]);
            // attention: norm, q/k/v projections, RoPE on q and k, k and v into the cache
            push(
                &mut ops,
                kernels::rms_norm(g, &s.x, &lw.attn_norm, &s.xb, n, c.rms_eps)?,
            );
            linear(&mut ops, &lw.attn_q, &s.xb, &s.q, false)?;
            linear(&mut ops, &lw.attn_k, &s.xb, &s.k, false)?;
            linear(&mut ops, &lw.attn_v, &s.xb, &s.v, false)?;
            push(
                &mut ops,
                kernels::rope(g, &s.q, &w.rope, &self.step, n, c.n_head, c.head_dim)?,
            );
            push(
                &mut ops,
                kernels::rope(g, &s.k, &w.rope, &self.step, n, c.n_head_kv, c.head_dim)?,
            );
            push(
                &mut ops,
                kernels::kv_store(
                    g,
                    &s.k,
                    &s.v,
                    k_cache,
                    v_cache,
                    kv,
                    &self.step,
                    n,
                    c.kv_dim(),
                )?,
            );

            // each query head attends to its KV head over positions 0..=pos
            if decode {
                push(
                    &mut ops,
                    kernels::attn_decode(
                        g,
                        &s.q,
                        k_cache,
                        v_cache,
                        kv,
                        &self.partials,
                        &self.step,
                    )?,
                );
                push(
                    &mut ops,
                    kernels::attn_combine(g, &self.partials, &s.att_out, &self.step)?,
                );
            } else {
                push(
                    &mut ops,
                    kernels::attn_prefill(
                        g,
                        heads(c),
                        &s.q,
                        k_cache,
                        v_cache,
                        kv,
                        &s.att_out,
                        &self.step,
                        n,
                    )?,
                );
            }

            // output projection, residual fused: x += W_o · att_out
            linear(&mut ops, &lw.attn_output, &s.att_out, &s.x, true)?;

            // feed-forward: x += down(silu(gate(norm(x))) · up(norm(x)))
            push(
                &mut ops,
                kernels::rms_norm(g, &s.x, &lw.ffn_norm, &s.xb, n, c.rms_eps)?,
            );
            linear(&mut ops, &lw.ffn_gate, &s.xb, &s.gate, false)?;
            linear(&mut ops, &lw.ffn_up, &s.xb, &s.up, false)?;
            push(
                &mut ops,
                kernels::silu_mul(g, &s.gate, &s.up, &s.hb, n * c.n_ff)?,
            );
            linear(&mut ops, &lw.ffn_down, &s.hb, &s.x, true)?;
        }
        Ok(ops)
    }

    /// [`Session::record`] followed by the lm-head over the last of the `n` tokens:
    /// final norm, then `logits` = W_out · norm(x_last).
    fn record_last(&self, n: usize, decode: bool) -> Result<Vec<Cmd>> {
        let (g, c, w, s) = (
            &self.model.gpu,
            &self.model.config,
            &self.model.weights,
            &self.s,
        );
        let mut cmds = self.record(n, decode)?;
        // one token's row is x itself; of a batch, the last row is copied out first
        let last_x = if n == 1 {
            &s.x
        } else {
            let row = (c.n_embd * 4) as u64;
            cmds.push(Cmd::Copy {
                src: s.x.buffer.clone(),
                src_offset: (n as u64 - 1) * row,
                dst: s.last_x.buffer.clone(),
                dst_offset: 0,
                size: row,
            });
            &s.last_x
        };
        cmds.extend(
            kernels::rms_norm(g, last_x, &w.output_norm, &s.last, 1, c.rms_eps)?
                .into_iter()
                .map(Cmd::from),
        );
        cmds.extend(
            kernels::matvec(g, w.lm_head(), &s.last, &s.logits, false)?
                .into_iter()
                .map(Cmd::from),
        );
        Ok(cmds)
    }

    /// Writes `tokens` (at most n_batch) into the token buffer and runs `cmds` over them.
    fn run(&self, tokens: &[u32], cmds: &[Cmd]) {
        let g = &self.model.gpu;
        g.queue
            .write_buffer(&self.s.tokens.buffer, 0, bytemuck::cast_slice(tokens));
        self.submit(self.len, tokens.len(), 0, &[cmds]);
    }

    /// Runs `tokens` after what the cache holds and returns the last position's logits.
    pub async fn forward_last(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        self.prefill(tokens)?;
        self.s.logits.read(&self.model.gpu).await
    }

    /// Runs `tokens` through the model in batches, leaving the last position's logits in
    /// `s.logits` (not read back).
    fn prefill(&mut self, tokens: &[u32]) -> Result<()> {
        check_room(self.len, tokens.len(), self.n_ctx)?;
        self.check_ids(tokens)?;
        for batch in tokens.chunks(self.n_batch) {
            let n = batch.len();
            if n == 1 {
                self.run(batch, &self.decode);
            } else {
                let cmds = self.record_last(n, false)?;
                self.run(batch, &cmds);
            }
            self.len += n;
        }
        Ok(())
    }

    /// Logits of every position of `tokens` (n × n_vocab, row-major), run after what the
    /// cache holds: what `hearth logits` prints and what tests compare with the CPU.
    pub async fn logits_all(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        let (g, c, w) = (&self.model.gpu, &self.model.config, &self.model.weights);
        check_room(self.len, tokens.len(), self.n_ctx)?;
        self.check_ids(tokens)?;
        let all = GpuTensor::zeros(g, self.n_batch * c.n_vocab, "logits (all positions)");
        let mut out = Vec::with_capacity(tokens.len() * c.n_vocab);
        for batch in tokens.chunks(self.n_batch) {
            let n = batch.len();
            let mut cmds = self.record(n, false)?;
            cmds.extend(
                kernels::rms_norm(g, &self.s.x, &w.output_norm, &self.s.xb, n, c.rms_eps)?
                    .into_iter()
                    .map(Cmd::from),
            );
            cmds.extend(
                kernels::matmul(g, w.lm_head(), &self.s.xb, n, &all, false)?
                    .into_iter()
                    .map(Cmd::from),
            );
            self.run(batch, &cmds);
            self.len += n;
            let got: Vec<f32> = all.read(g).await?;
            out.extend_from_slice(&got[..n * c.n_vocab]);
        }
        Ok(out)
    }

    /// Generates after `prompt` (appended to what the cache holds, so a later chat turn
    /// prefills only its new tokens). Same contract and same picks as
    /// `hearth_model::generate` with `sampler`, whose step counter advances with each draw,
    /// but sampling runs on the GPU: a decoded token is one command buffer, and its id
    /// (4 bytes) is the only readback. The last id returned has not been run through the
    /// model yet: a following turn starts with it.
    pub async fn generate(
        &mut self,
        prompt: &[u32],
        sampler: &mut Sampler,
        stop: &StopRule,
        mut on_token: impl FnMut(u32) -> hearth_model::Result<bool>,
    ) -> Result<Vec<u32>> {
        let model = self.model.clone();
        let g = &model.gpu;
        let mut out = Vec::new();
        if stop.max_tokens == 0 {
            return Ok(out);
        }
        if prompt.is_empty() {
            return Err(GpuError::Shape(
                "generate needs at least one new token to run".into(),
            ));
        }
        let cfg = sampler.config().clone();
        let gpu_sampler =
            GpuSampler::new(g, &cfg, self.model.config.n_vocab, cfg.repeat_last_n.max(1))?;
        let mut history = prompt.to_vec();
        gpu_sampler.set_history(g, &history);
        let mut pick = gpu_sampler
            .ops(g, &self.s.logits, &self.s.tokens, 0, &self.step)?
            .into_iter()
            .map(Cmd::from)
            .collect::<Vec<_>>();
        pick.push(Cmd::Copy {
            src: self.s.tokens.buffer.clone(),
            src_offset: 0,
            dst: self.readback.clone(),
            dst_offset: 0,
            size: 4,
        });

        // prefill, then the first pick from its logits
        self.prefill(prompt)?;
        let mut draw = sampler.step();
        self.submit(self.len, 0, draw, &[&pick]);
        loop {
            let id = match self.read_token().await? {
                SAMPLE_ERROR => {
                    return Err(GpuError::Model(hearth_model::ModelError::Request(
                        "the logits hold NaN or +inf, or no finite value".into(),
                    )));
                }
                SAMPLE_ON_CPU => {
                    let logits: Vec<f32> = self.s.logits.read(g).await?;
                    gpu_sampler.resolve_on_cpu(g, &logits, &history, draw, &self.s.tokens, 0)?
                }
                id => id,
            };
            draw = draw.wrapping_add(1);
            sampler.set_step(draw);
            if !stop.ignore_eos && stop.eog.contains(&id) {
                break;
            }
            out.push(id);
            history.push(id);
            if !on_token(id)? || out.len() >= stop.max_tokens {
                break;
            }
            // the id is already in `tokens[0]` on the GPU: run it and pick the next
            check_room(self.len, 1, self.n_ctx)?;
            self.submit(self.len, 1, draw, &[&self.decode, &pick]);
            self.len += 1;
        }
        Ok(out)
    }

    /// Writes the step and submits `programs` in one command buffer.
    fn submit(&self, pos: usize, n: usize, sample: u32, programs: &[&[Cmd]]) {
        let g = &self.model.gpu;
        let step = Step {
            pos: pos as u32,
            n_tokens: n as u32,
            kv_len: (pos + n) as u32,
            sample,
        };
        step.write(g, &self.step);
        self.partials.set_kv_len(g, pos + n);
        let mut encoder = g.device.create_command_encoder(&Default::default());
        for cmds in programs {
            kernels::encode(&mut encoder, cmds);
        }
        g.queue.submit([encoder.finish()]);
    }

    /// Waits for the last submit and returns the token id it copied into `readback`.
    async fn read_token(&self) -> Result<u32> {
        let (tx, rx) = futures_channel::oneshot::channel();
        self.readback
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send(r);
            });
        #[cfg(not(target_arch = "wasm32"))]
        self.model
            .gpu
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let mapped = rx.await;
        if !matches!(mapped, Ok(Ok(()))) {
            // a lost device fails the map: say so, rather than "readback failed"
            self.model.gpu.check()?;
        }
        mapped
            .map_err(|_| GpuError::Readback("the device dropped the map request".into()))?
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let id = {
            let view = self
                .readback
                .slice(..)
                .get_mapped_range()
                .map_err(|e| GpuError::Readback(e.to_string()))?;
            u32::from_le_bytes([view[0], view[1], view[2], view[3]])
        };
        self.readback.unmap();
        self.model.gpu.check()?;
        Ok(id)
    }

    /// Times each kernel of one decode step (at the current position) and of a prefill of
    /// `n` tokens, each op submitted and waited for alone: (label, seconds), summed by
    /// label, slowest first. For `hearth bench --profile`; leaves the cache as it was.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn profile(&mut self, n: usize) -> Result<[Vec<(String, f64)>; 2]> {
        check_room(self.len, n.max(1), self.n_ctx)?;
        let prefill = self.record_last(n.max(2), false)?;
        let mut out = [Vec::new(), Vec::new()];
        for (i, (cmds, n)) in [(&self.decode, 1), (&prefill, n.max(2))]
            .into_iter()
            .enumerate()
        {
            let mut times: Vec<(String, f64)> = Vec::new();
            for cmd in cmds.iter() {
                let t = std::time::Instant::now();
                self.submit(self.len, n, 0, &[std::slice::from_ref(cmd)]);
                self.model
                    .gpu
                    .device
                    .poll(wgpu::PollType::wait_indefinitely())
                    .map_err(|e| GpuError::Readback(e.to_string()))?;
                let dt = t.elapsed().as_secs_f64();
                let label = match cmd {
                    Cmd::Op(op) => op.label().to_string(),
                    Cmd::Copy { .. } => "copy".to_string(),
                };
                match times.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, t)) => *t += dt,
                    None => times.push((label, dt)),
                }
            }
            times.sort_by(|a, b| b.1.total_cmp(&a.1));
            out[i] = times;
        }
        Ok(out)
    }

    fn check_ids(&self, tokens: &[u32]) -> Result<()> {
        let n_vocab = self.model.config.n_vocab;
        match tokens.iter().find(|&&t| t as usize >= n_vocab) {
            Some(t) => Err(GpuError::Shape(format!(
                "token id {t} is outside the vocabulary of {n_vocab}"
            ))),
            None => Ok(()),
        }
    }
}

/// The attention heads of `c`.
fn heads(c: &Config) -> AttnHeads {
    AttnHeads {
        n_head: c.n_head,
        n_head_kv: c.n_head_kv,
        head_dim: c.head_dim,
    }
}

/// Checks that `n` more positions fit in a session of `n_ctx` holding `len`.
fn check_room(len: usize, n: usize, n_ctx: usize) -> Result<()> {
    if len + n > n_ctx {
        return Err(GpuError::Shape(format!(
            "the context is full: {len} + {n} tokens exceed its {n_ctx} positions"
        )));
    }
    Ok(())
}
