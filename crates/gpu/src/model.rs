//! A model on the GPU and its sessions. A forward call's program is recorded from the
//! architecture's block (`hearth_model::arch::Weights::forward`, through [`Recorder`]), the
//! same code the CPU engines run. Decode ops are prepared once per session; a token is one
//! command buffer whose only readback is the 4-byte id the GPU sampler chose.

use hearth_gguf::Gguf;
use hearth_model::Config;
use hearth_model::arch::Act;

use hearth_model::Guide;
use hearth_model::StopRule;
use hearth_model::constraint::Next;
use hearth_model::conversation::Context;
use hearth_model::sampler::Sampler;

use crate::kernels::{
    self, AttnPartials, Cmd, GpuSampler, KvType, Ropes, SAMPLE_ERROR, SAMPLE_ON_CPU, Step,
};
use crate::record::{KvCaches, Recorder, heads};
use crate::weights::{GpuModelWeights, TensorSource};
use crate::{Gpu, GpuError, GpuTensor, Result};

/// A model on the GPU: config and weights, immutable once loaded.
pub struct GpuModel {
    pub gpu: Gpu,
    pub config: Config,
    pub weights: GpuModelWeights,
    /// Per-pair RoPE rotation speeds (`rope_freqs.weight` folded in), and those of the
    /// sliding-window layers.
    pub rope: Ropes,
}

impl GpuModel {
    /// Uploads the model described by `gguf`, reading tensor bytes from `src`, and
    /// compiles every pipeline its sessions use meanwhile ([`crate::warm_pipelines`], on
    /// another thread natively).
    pub fn load(gpu: Gpu, gguf: &Gguf, src: &dyn TensorSource) -> Result<GpuModel> {
        let config = Config::from_gguf(gguf)?;
        #[cfg(not(target_arch = "wasm32"))]
        let (weights, rope) = std::thread::scope(|s| {
            let warm = s.spawn(|| crate::warm_pipelines(&gpu, gguf, &config));
            let uploaded = crate::weights::upload(&gpu, gguf, &config, src);
            let warmed = warm.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            uploaded.and_then(|u| warmed.map(|()| u))
        })?;
        #[cfg(target_arch = "wasm32")]
        let (weights, rope) = {
            crate::warm_pipelines(&gpu, gguf, &config)?;
            crate::weights::upload(&gpu, gguf, &config, src)?
        };
        Ok(GpuModel {
            gpu,
            config,
            weights,
            rope,
        })
    }

    /// Bytes of weights one decoded token reads: every matrix once, plus one embedding row.
    pub fn weight_bytes_per_token(&self) -> u64 {
        let bytes = |g: &crate::GpuWeights| (g.rows * g.row_words * 4) as u64;
        self.weights.bytes_per_token(&self.config, bytes)
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

/// Activations for up to `n_batch` tokens at once, made once per session.
struct Scratch {
    /// (n_batch) u32 ids; the sampler writes the next id into [0]
    tokens: GpuTensor,
    /// By [`Act::index`]: (n_batch, width) each, but one row for the wanted-logit rows
    /// (`Out`, `OutNorm`, `Logits`: the last token's).
    acts: Vec<GpuTensor>,
}

impl Scratch {
    fn act(&self, a: Act) -> &GpuTensor {
        &self.acts[a.index()]
    }
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
        let mut session = Session::blank(model, n_ctx, n_batch);
        session.decode = session.record_last(1)?;
        Ok(session)
    }

    /// A session with its buffers made and no program recorded yet.
    fn blank(model: ModelRef<'m>, n_ctx: usize, n_batch: usize) -> Session<'m> {
        let handle = model.clone();
        let (g, c) = (&handle.gpu, &handle.config);
        let n_ctx = n_ctx.min(c.n_ctx_train).max(1);
        let n_batch = n_batch.clamp(1, n_ctx);
        let s = Scratch {
            tokens: GpuTensor::zeros(g, n_batch, "tokens"),
            acts: Act::ALL
                .iter()
                .map(|&a| {
                    let rows = if a.is_output() { 1 } else { n_batch };
                    GpuTensor::zeros(g, rows * a.width(c), &format!("{a:?}"))
                })
                .collect(),
        };
        let kv = g.kv_type;
        let cache = |label: &str| {
            (0..c.n_layer)
                .map(|_| GpuTensor::zeros(g, kv.words(n_ctx * c.kv_dim()), label))
                .collect()
        };
        Session {
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
        }
    }

    /// A session that records its programs only to compile their pipelines (see
    /// `crate::warm`): no decode program kept.
    pub(crate) fn for_compiling(model: &'m GpuModel, n_ctx: usize, n_batch: usize) -> Session<'m> {
        Session::blank(ModelRef::Borrowed(model), n_ctx, n_batch)
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
    /// Takes the first `len` positions as cached without computing them, for benchmarks of
    /// decode at long contexts (its cost does not depend on what the cache rows hold: zeros,
    /// or what an earlier call left). Never for answers.
    pub fn assume_cached(&mut self, len: usize) -> Result<()> {
        if len >= self.n_ctx {
            return Err(GpuError::Shape(format!(
                "{len} cached positions leave no room in a context of {}",
                self.n_ctx
            )));
        }
        self.len = len;
        Ok(())
    }

    /// The program of one forward call over the `n` tokens in the token buffer, with the
    /// last token's logits in the `Logits` scratch.
    pub(crate) fn record_last(&self, n: usize) -> Result<Vec<Cmd>> {
        self.record(n, None)
    }

    /// The program of one forward call over `n` tokens: the architecture's block recorded
    /// through [`Recorder`]. With `all`, every token's logits go there (n × n_vocab).
    fn record(&self, n: usize, all: Option<&GpuTensor>) -> Result<Vec<Cmd>> {
        let m = &*self.model;
        let mut acts: [&GpuTensor; 12] = std::array::from_fn(|i| &self.s.acts[i]);
        let out_rows = match all {
            Some(logits) => {
                // every row's logits: the batch-sized Xb holds the normed rows
                acts[Act::OutNorm.index()] = self.s.act(Act::Xb);
                acts[Act::Logits.index()] = logits;
                n
            }
            None => 1,
        };
        let cache = KvCaches {
            k: &self.k_cache,
            v: &self.v_cache,
            ty: self.kv,
            partials: &self.partials,
        };
        let mut r = Recorder {
            gpu: &m.gpu,
            config: &m.config,
            rope: &m.rope,
            tokens: &self.s.tokens,
            acts,
            cache,
            step: &self.step,
            n,
            out_rows,
            calls: Vec::new(),
            cmds: Vec::new(),
            err: None,
        };
        m.weights.forward(&mut r, &m.config);
        r.finish()
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
        self.s.act(Act::Logits).read(&self.model.gpu).await
    }

    /// Runs `tokens` through the model in batches, leaving the last position's logits in
    /// the `Logits` scratch (not read back).
    fn prefill(&mut self, tokens: &[u32]) -> Result<()> {
        check_room(self.len, tokens.len(), self.n_ctx)?;
        self.check_ids(tokens)?;
        for batch in tokens.chunks(self.n_batch) {
            let n = batch.len();
            if n == 1 {
                self.run(batch, &self.decode);
            } else {
                let cmds = self.record_last(n)?;
                self.run(batch, &cmds);
            }
            self.len += n;
        }
        Ok(())
    }

    /// Logits of every position of `tokens` (n × n_vocab, row-major), run after what the
    /// cache holds: what `hearth logits` prints and what tests compare with the CPU.
    pub async fn logits_all(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        let model = self.model.clone();
        let (g, c) = (&model.gpu, &model.config);
        check_room(self.len, tokens.len(), self.n_ctx)?;
        self.check_ids(tokens)?;
        let all = GpuTensor::zeros(g, self.n_batch * c.n_vocab, "logits (all positions)");
        let mut out = Vec::with_capacity(tokens.len() * c.n_vocab);
        for batch in tokens.chunks(self.n_batch) {
            let n = batch.len();
            let cmds = self.record(n, Some(&all))?;
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
        mut guide: Guide<'_>,
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
        let gpu_sampler = self.gpu_sampler(&cfg)?;
        let mut history = prompt.to_vec();
        gpu_sampler.set_history(g, &history);
        gpu_sampler.set_mask(g, None);
        let pick = self.record_pick(&gpu_sampler)?;

        // prefill, then the first pick from its logits (with a constraint, of the tokens
        // it allows: the mask goes up before the pick's submit)
        self.prefill(prompt)?;
        let mut mask = None;
        if let Some(c) = guide.constraint.as_deref_mut() {
            match c.step() {
                Next::Mask(m) => mask = Some(m),
                Next::Done | Next::Dead(_) => return Ok(out),
            }
            gpu_sampler.set_mask(g, mask.as_ref());
        }
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
                    let logits: Vec<f32> = self.s.act(Act::Logits).read(g).await?;
                    gpu_sampler.resolve_on_cpu(
                        g,
                        &logits,
                        mask.as_ref(),
                        &history,
                        draw,
                        &self.s.tokens,
                        0,
                    )?
                }
                id => id,
            };
            draw = draw.wrapping_add(1);
            sampler.set_step(draw);
            if !stop.ignore_eos && stop.eog.contains(&id) {
                break;
            }
            if let Some(lp) = guide.logprobs.as_deref_mut() {
                // asked for: this step's logits come back (they stay until the next step)
                let logits: Vec<f32> = self.s.act(Act::Logits).read(g).await?;
                lp.record(&logits, id);
            }
            if let Some(c) = guide.constraint.as_deref_mut() {
                c.accept(id)?;
            }
            out.push(id);
            history.push(id);
            if !on_token(id)? || out.len() >= stop.max_tokens {
                break;
            }
            // the id is already in `tokens[0]` on the GPU: run it and pick the next
            check_room(self.len, 1, self.n_ctx)?;
            let Some(c) = guide.constraint.as_deref_mut() else {
                self.submit(self.len, 1, draw, &[&self.decode, &pick]);
                self.len += 1;
                continue;
            };
            // constrained: the next mask is computed while the GPU runs the step
            self.submit(self.len, 1, draw, &[&self.decode]);
            self.len += 1;
            match c.step() {
                Next::Mask(m) => mask = Some(m),
                Next::Done | Next::Dead(_) => {
                    // as unconstrained: the last id counts as not run (its KV slot is
                    // written again when a next turn runs it)
                    self.len -= 1;
                    break;
                }
            }
            gpu_sampler.set_mask(g, mask.as_ref());
            self.submit(self.len - 1, 1, draw, &[&pick]);
        }
        Ok(out)
    }

    /// The GPU sampler of `cfg` for this session's model.
    pub(crate) fn gpu_sampler(
        &self,
        cfg: &hearth_model::sampler::SamplerConfig,
    ) -> Result<GpuSampler> {
        let g = &self.model.gpu;
        GpuSampler::new(g, cfg, self.model.config.n_vocab, cfg.repeat_last_n.max(1))
    }

    /// The program that picks the next token from the `Logits` scratch into the token
    /// buffer and copies its id to the readback buffer.
    pub(crate) fn record_pick(&self, sampler: &GpuSampler) -> Result<Vec<Cmd>> {
        let g = &self.model.gpu;
        let mut pick = sampler
            .ops(g, self.s.act(Act::Logits), &self.s.tokens, 0, &self.step)?
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
        Ok(pick)
    }

    /// Dispatches in the recorded decode program: what one decoded token launches, before
    /// the sampler's.
    pub fn decode_dispatches(&self) -> usize {
        self.decode
            .iter()
            .filter(|c| matches!(c, Cmd::Op(_)))
            .count()
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
        let prefill = self.record_last(n.max(2))?;
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

impl Context for Session<'_> {
    fn capacity(&self) -> usize {
        self.n_ctx
    }
    fn len(&self) -> usize {
        self.len
    }
    fn truncate(&mut self, len: usize) {
        Session::truncate(self, len);
    }
    async fn generate(
        &mut self,
        prompt: &[u32],
        sampler: &mut Sampler,
        stop: &StopRule,
        guide: Guide<'_>,
        on_token: impl FnMut(u32) -> hearth_model::Result<bool>,
    ) -> hearth_model::Result<Vec<u32>> {
        Ok(Session::generate(self, prompt, sampler, stop, guide, on_token).await?)
    }
}

/// The KV cache's bytes as they lie in its buffers (f32, or f16 two to a word, low half
/// first: little-endian f16 values in order), a layer's positions contiguous.
impl hearth_model::kv_snapshot::KvSnapshot for Session<'_> {
    fn kv_shape(&self) -> (usize, usize) {
        let c = &self.model.config;
        (c.n_layer, c.kv_dim())
    }
    fn value_bytes(&self) -> usize {
        4 / self.kv.per_word()
    }
    async fn export_kv(&mut self, from: usize, to: usize) -> hearth_model::Result<Vec<u8>> {
        hearth_model::kv_snapshot::check_export(from, to, self.len)?;
        let row = (self.model.config.kv_dim() * self.value_bytes()) as u64;
        let ranges: Vec<_> = self
            .k_cache
            .iter()
            .zip(&self.v_cache)
            .flat_map(|(k, v)| [k, v])
            .map(|t| (&t.buffer, from as u64 * row, (to - from) as u64 * row))
            .collect();
        Ok(crate::tensor::read_ranges(&self.model.gpu, &ranges).await?)
    }
    fn import_kv(&mut self, at: usize, bytes: &[u8]) -> hearth_model::Result<usize> {
        use hearth_model::kv_snapshot::check_import;
        let n = check_import(
            bytes.len(),
            hearth_model::kv_snapshot::KvSnapshot::position_bytes(self),
            at,
            self.len,
            self.n_ctx,
        )?;
        let row = self.model.config.kv_dim() * self.value_bytes();
        let span = n * row;
        let caches = self
            .k_cache
            .iter()
            .zip(&self.v_cache)
            .flat_map(|(k, v)| [k, v]);
        for (t, part) in caches.zip(bytes.chunks_exact(span.max(1))) {
            if span > 0 {
                self.model
                    .gpu
                    .queue
                    .write_buffer(&t.buffer, (at * row) as u64, part);
            }
        }
        self.len = at + n;
        Ok(n)
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
