//! A model on the CPU engine and its sessions (one conversation's KV cache each). The
//! forward pass is the architecture's (`hearth_model::arch::Weights::forward`), run through this file's
//! [`Backend`] implementation.

use std::borrow::Borrow;

use hearth_gguf::{Gguf, TensorInfo, dequantize_vec};
use hearth_model::arch::{Act, Backend, Weights};
use hearth_model::conversation::Context;
use hearth_model::ops::{RopeParams, rms_norm};
use hearth_model::sampler::Sampler;
use hearth_model::{Config, StopRule};

use crate::act::{self, BlockQ16, QK};
use crate::attention::{self, RopeTable};
use crate::kernel::{Input, Out};
use crate::pool::{Pool, share};
use crate::{CpuError, QMatrix, Result};

/// Tokens one forward call processes at once (longer prompts go in batches).
pub const N_BATCH: usize = 128;

/// Weight rows per unit of work a thread takes (a cache line of outputs).
const ROW_ALIGN: usize = 16;

/// A model on the CPU: config, weights in their GGUF blocks, and the thread pool.
pub struct CpuModel {
    pub config: Config,
    pub weights: Weights<QMatrix, Vec<f32>>,
    rope: RopeParams,
    /// the sliding-window layers' RoPE (`Config::rope_local`)
    rope_local: RopeParams,
    pool: Pool,
}

impl CpuModel {
    /// Loads the model of `gguf`, whose whole file is `file`, to run on `threads` threads
    /// (0: one per core).
    pub fn load(gguf: &Gguf, file: &[u8], threads: usize) -> Result<CpuModel> {
        CpuModel::from_tensors(gguf, threads, |t| Ok(gguf.tensor_bytes(file, t)?.to_vec()))
    }

    /// Loads the model of `gguf`, asking `bytes` for each tensor's bytes in turn (so a
    /// loader can stream them in without holding the file).
    pub fn from_tensors(
        gguf: &Gguf,
        threads: usize,
        mut bytes: impl FnMut(&TensorInfo) -> Result<Vec<u8>>,
    ) -> Result<CpuModel> {
        let config = Config::from_gguf(gguf)?;
        let bytes = std::cell::RefCell::new(&mut bytes);
        let floats = |t: &TensorInfo| -> Result<Vec<f32>> {
            Ok(dequantize_vec(t.ty, &(bytes.borrow_mut())(t)?)?)
        };
        let weights = Weights::load(
            gguf,
            &config,
            |t, rows, cols| QMatrix::new(t.ty, rows, cols, (bytes.borrow_mut())(t)?),
            |t, _| floats(t),
            |t, _| floats(t),
        )?;
        let rope = config.rope(weights.rope_freqs());
        let rope_local = config.rope_local();
        Ok(CpuModel {
            config,
            weights,
            rope,
            rope_local,
            pool: Pool::new(threads),
        })
    }

    /// Threads the ops run on.
    pub fn threads(&self) -> usize {
        self.pool.threads()
    }

    /// The model's thread pool (for benchmarks that measure the same threads).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Bytes of weights one decoded token reads (every matrix once, one embedding row).
    pub fn weight_bytes_per_token(&self) -> u64 {
        self.weights
            .bytes_per_token(&self.config, |m| m.bytes() as u64)
    }
}

/// One conversation on a [`CpuModel`] (borrowed, or held by an `Rc`/`Arc`): its KV cache
/// (f32) and scratch.
pub struct CpuSession<M: Borrow<CpuModel>> {
    model: M,
    n_ctx: usize,
    s: State,
}

impl<M: Borrow<CpuModel>> Context for CpuSession<M> {
    fn capacity(&self) -> usize {
        self.n_ctx
    }
    fn len(&self) -> usize {
        self.s.len
    }
    fn truncate(&mut self, len: usize) {
        CpuSession::truncate(self, len);
    }
    async fn generate(
        &mut self,
        prompt: &[u32],
        sampler: &mut Sampler,
        stop: &StopRule,
        guide: hearth_model::Guide<'_>,
        on_token: impl FnMut(u32) -> hearth_model::Result<bool>,
    ) -> hearth_model::Result<Vec<u32>> {
        let step = |t: &[u32]| std::future::ready(self.forward_last(t).map_err(Into::into));
        hearth_model::generate(prompt, sampler, stop, guide, step, on_token).await
    }
}

impl<M: Borrow<CpuModel>> hearth_model::kv_snapshot::KvSnapshot for CpuSession<M> {
    fn kv_shape(&self) -> (usize, usize) {
        let c = &self.model().config;
        (c.n_layer, c.kv_dim())
    }
    fn value_bytes(&self) -> usize {
        4
    }
    async fn export_kv(&mut self, from: usize, to: usize) -> hearth_model::Result<Vec<u8>> {
        use hearth_model::kv_snapshot::{check_export, export_rows};
        check_export(from, to, self.s.len)?;
        let kv_dim = self.model().config.kv_dim();
        Ok(export_rows(&self.s.k, &self.s.v, kv_dim, from, to))
    }
    fn import_kv(&mut self, at: usize, bytes: &[u8]) -> hearth_model::Result<usize> {
        use hearth_model::kv_snapshot::{check_import, import_rows};
        let n = check_import(
            bytes.len(),
            self.position_bytes(),
            at,
            self.s.len,
            self.n_ctx,
        )?;
        let kv_dim = self.model().config.kv_dim();
        import_rows(&mut self.s.k, &mut self.s.v, kv_dim, at, n, bytes);
        self.s.len = at + n;
        Ok(n)
    }
}

/// What a forward call writes: the cache, the activations, the RoPE tables.
struct State {
    len: usize,
    k: Vec<Vec<f32>>, // per layer (len, kv_dim)
    v: Vec<Vec<f32>>, // per layer (len, kv_dim)
    bufs: [Vec<f32>; Act::ALL.len()],
    qx: Vec<BlockQ16>,
    rope: RopeTable,
    /// the sliding-window layers' (filled only when one runs)
    rope_local: RopeTable,
    /// One token's attention spans, by (KV head, span).
    parts: Vec<std::sync::Mutex<attention::Partial>>,
}

impl<M: Borrow<CpuModel>> CpuSession<M> {
    /// A session of up to `n_ctx` positions (at most the trained context).
    pub fn new(model: M, n_ctx: usize) -> CpuSession<M> {
        let c = &model.borrow().config;
        let s = State {
            len: 0,
            k: vec![Vec::new(); c.n_layer],
            v: vec![Vec::new(); c.n_layer],
            bufs: Default::default(),
            qx: Vec::new(),
            rope: RopeTable::new(&model.borrow().rope),
            rope_local: RopeTable::new(&model.borrow().rope_local),
            parts: Vec::new(),
        };
        CpuSession {
            n_ctx: n_ctx.min(c.n_ctx_train).max(1),
            s,
            model,
        }
    }

    /// The model this session runs.
    pub fn model(&self) -> &CpuModel {
        self.model.borrow()
    }

    /// Positions cached so far.
    pub fn len(&self) -> usize {
        self.s.len
    }
    /// True before the first token.
    pub fn is_empty(&self) -> bool {
        self.s.len == 0
    }
    /// Most positions this session takes.
    pub fn capacity(&self) -> usize {
        self.n_ctx
    }
    /// Forgets every position (a new conversation).
    pub fn clear(&mut self) {
        self.s.len = 0;
    }
    /// Forgets positions from `len` on (to rewind to a shared prefix).
    pub fn truncate(&mut self, len: usize) {
        self.s.len = self.s.len.min(len);
    }

    /// Runs `tokens` after what the cache holds and returns the last position's logits.
    pub fn forward_last(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        self.run(tokens, false)
    }

    /// Logits of every position of `tokens` (n × n_vocab, row-major).
    pub fn forward_all(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        self.run(tokens, true)
    }

    fn run(&mut self, tokens: &[u32], all: bool) -> Result<Vec<f32>> {
        let model: &CpuModel = self.model.borrow();
        let c = &model.config;
        if self.s.len + tokens.len() > self.n_ctx {
            return Err(CpuError::Request(format!(
                "the context is full: {} + {} tokens exceed its {} positions",
                self.s.len,
                tokens.len(),
                self.n_ctx
            )));
        }
        if let Some(t) = tokens.iter().find(|&&t| t as usize >= c.n_vocab) {
            return Err(CpuError::Request(format!(
                "token id {t} is outside the vocabulary of {}",
                c.n_vocab
            )));
        }
        let mut out = Vec::new();
        for batch in tokens.chunks(N_BATCH) {
            let n_out = if all { batch.len() } else { 1 };
            let mut pass = Pass {
                s: &mut self.s,
                model,
                tokens: batch,
                n_out,
            };
            model.weights.forward(&mut pass, c);
            self.s.len += batch.len();
            let logits = &self.s.bufs[Act::Logits.index()];
            if all {
                out.extend_from_slice(logits);
            } else {
                out.clear();
                out.extend_from_slice(logits);
            }
        }
        Ok(out)
    }
}

/// One forward call over a batch: the session, the batch's tokens at positions
/// `s.len..`, and how many rows want logits.
struct Pass<'a> {
    s: &'a mut State,
    model: &'a CpuModel,
    tokens: &'a [u32],
    n_out: usize,
}

impl Pass<'_> {
    fn c(&self) -> &Config {
        &self.model.config
    }
    fn rows(&self, a: Act) -> usize {
        if a.is_output() {
            self.n_out
        } else {
            self.tokens.len()
        }
    }
    /// Takes `a`'s buffer out, sized to its rows, to be written while others are read.
    fn take(&mut self, a: Act) -> Vec<f32> {
        let mut v = std::mem::take(&mut self.s.bufs[a.index()]);
        v.resize(self.rows(a) * a.width(self.c()), 0.0);
        v
    }
    fn put(&mut self, a: Act, v: Vec<f32>) {
        self.s.bufs[a.index()] = v;
    }
}

impl Backend for Pass<'_> {
    type Matrix = QMatrix;
    type Vector = Vec<f32>;

    fn embedding(&mut self, out: Act, table: &QMatrix, scale: f32) {
        let mut o = self.take(out);
        for (row, &t) in o.chunks_exact_mut(table.cols).zip(self.tokens) {
            // ids were checked against the vocabulary before the pass
            let _ = table.row_f32(t as usize, scale, row);
        }
        self.put(out, o);
    }

    fn rms_norm(&mut self, out: Act, x: Act, w: &Vec<f32>, eps: f32) {
        let mut o = self.take(out);
        let width = x.width(self.c());
        let xs = &self.s.bufs[x.index()];
        for (orow, xrow) in o.chunks_exact_mut(width).zip(xs.chunks_exact(width)) {
            rms_norm(orow, xrow, w, eps);
        }
        self.put(out, o);
    }

    fn norm_add(&mut self, x: Act, y: Act, w: &Vec<f32>, eps: f32) {
        let mut o = self.take(x);
        let width = x.width(self.c());
        let ys = &self.s.bufs[y.index()];
        for (xrow, yrow) in o.chunks_exact_mut(width).zip(ys.chunks_exact(width)) {
            act::norm_add(xrow, yrow, w, eps);
        }
        self.put(x, o);
    }

    fn linear(&mut self, x: Act, outs: &[(Act, &QMatrix)], accumulate: bool) {
        let (n, cols) = (self.rows(x), x.width(self.c()));
        if outs.iter().any(|(_, w)| w.wants_q16()) {
            let blocks = cols.div_ceil(QK);
            self.s.qx.resize(n * blocks, BlockQ16::default());
            let xs = &self.s.bufs[x.index()];
            for (xrow, qrow) in xs
                .chunks_exact(cols)
                .zip(self.s.qx.chunks_exact_mut(blocks))
            {
                act::quantize(xrow, qrow);
            }
        }
        let mut taken: Vec<(Vec<f32>, &QMatrix)> =
            outs.iter().map(|&(a, w)| (self.take(a), w)).collect();
        {
            let input = Input {
                f32: &self.s.bufs[x.index()],
                qx: &self.s.qx,
                n,
                cols,
            };
            let targets: Vec<(Out, &QMatrix)> = taken
                .iter_mut()
                .map(|(buf, w)| {
                    let out = Out {
                        ptr: buf.as_mut_ptr(),
                        stride: w.rows,
                        accumulate,
                    };
                    (out, *w)
                })
                .collect();
            // the outputs' rows side by side, shared out among the threads
            let total: usize = targets.iter().map(|(_, w)| w.rows).sum();
            let pool = &self.model.pool;
            let threads = pool.threads();
            pool.run(&|i| {
                let mine = share(total, i, threads, ROW_ALIGN);
                let mut base = 0;
                for &(out, w) in &targets {
                    let (lo, hi) = (mine.start.max(base), mine.end.min(base + w.rows));
                    if lo < hi {
                        // SAFETY: each buffer holds n rows of w.rows; thread i owns these rows
                        unsafe { w.rows_into(lo - base..hi - base, input, out) };
                    }
                    base += w.rows;
                }
            });
        }
        for ((a, _), (buf, _)) in outs.iter().zip(taken) {
            self.put(*a, buf);
        }
    }

    fn rope(&mut self, x: Act, _n_heads: usize, local: bool) {
        let mut o = self.take(x);
        let (width, hd, pos) = (x.width(self.c()), self.c().head_dim, self.s.len);
        let (table, params) = match local {
            true => (&mut self.s.rope_local, &self.model.rope_local),
            false => (&mut self.s.rope, &self.model.rope),
        };
        table.extend(params, pos + self.tokens.len());
        for (i, row) in o.chunks_exact_mut(width).enumerate() {
            table.apply(row, hd, pos + i);
        }
        self.put(x, o);
    }

    fn add_bias(&mut self, x: Act, b: &Vec<f32>) {
        let mut o = self.take(x);
        hearth_model::ops::add_bias(&mut o, b);
        self.put(x, o);
    }

    fn head_norm(&mut self, x: Act, _n_heads: usize, w: &Vec<f32>, eps: f32) {
        let mut o = self.take(x);
        hearth_model::ops::head_norm(&mut o, w, eps);
        self.put(x, o);
    }

    fn kv_store(&mut self, layer: usize, k: Act, v: Act) {
        let kv_dim = self.c().kv_dim();
        let pos = self.s.len;
        let s = &mut *self.s;
        for (cache, a) in [(&mut s.k[layer], k), (&mut s.v[layer], v)] {
            cache.truncate(pos * kv_dim);
            cache.extend_from_slice(&s.bufs[a.index()]);
        }
    }

    fn attention(&mut self, layer: usize, out: Act, q: Act, window: Option<usize>) {
        let mut o = self.take(out);
        let c = self.c().clone();
        let (hd, kv_dim, q_dim, n) = (c.head_dim, c.kv_dim(), c.q_dim(), self.tokens.len());
        let (n_rep, group) = (c.n_rep(), c.n_rep() * c.head_dim);
        let pos = self.s.len;
        let (k, v) = (&self.s.k[layer], &self.s.v[layer]);
        let qs = &self.s.bufs[q.index()];
        let kv_head = |g: usize| attention::KvHead {
            k,
            v,
            stride: kv_dim,
            offset: g * hd,
        };
        let queries = |t: usize, g: usize| attention::Queries {
            q: &qs[t * q_dim + g * group..][..group],
            n_rep,
        };
        let dst = Out {
            ptr: o.as_mut_ptr(),
            stride: q_dim,
            accumulate: false,
        };
        let pool = &self.model.pool;
        let threads = pool.threads();
        if n == 1 {
            // one token: too few (KV head) jobs for the threads, so its spans run apart
            // and are merged after, in position order
            let spans: Vec<(usize, usize)> =
                attention::spans(attention::seen(pos, window)).collect();
            let jobs = c.n_head_kv * spans.len();
            let parts = &mut self.s.parts;
            parts.resize_with(jobs.max(parts.len()), Default::default);
            let parts = &parts[..jobs];
            pool.run(&|i| {
                let mut scores = Vec::new();
                for job in share(jobs, i, threads, 1) {
                    let (g, (lo, hi)) = (job / spans.len(), spans[job % spans.len()]);
                    let mut part = parts[job].lock().unwrap_or_else(|e| e.into_inner());
                    attention::span(queries(0, g), &kv_head(g), lo, hi, &mut part, &mut scores);
                }
            });
            let mut run = attention::Partial::default();
            for g in 0..c.n_head_kv {
                let mut mine = parts[g * spans.len()..][..spans.len()]
                    .iter()
                    .map(|p| p.lock().unwrap_or_else(|e| e.into_inner()));
                run.clone_from(&mine.next().expect("a span"));
                for part in mine {
                    attention::merge(&mut run, &part);
                }
                attention::finish(&run, &mut o[g * group..][..group]);
            }
        } else {
            // a batch: one job per (token, KV head), its spans in turn
            pool.run(&|i| {
                let mut scratch = attention::Scratch::default();
                let mut heads = vec![0f32; group];
                for job in share(n * c.n_head_kv, i, threads, 1) {
                    let (t, g) = (job / c.n_head_kv, job % c.n_head_kv);
                    let kv = kv_head(g);
                    let seen = attention::seen(pos + t, window);
                    attention::heads(queries(t, g), &kv, seen, &mut heads, &mut scratch);
                    for (d, &x) in heads.iter().enumerate() {
                        // SAFETY: job (t, g) is this thread's alone; o holds n rows of q_dim
                        unsafe { dst.put(t, g * group + d, x) };
                    }
                }
            });
        }
        self.put(out, o);
    }

    fn silu_mul(&mut self, out: Act, gate: Act, up: Act) {
        let mut o = self.take(out);
        let (g, u) = (&self.s.bufs[gate.index()], &self.s.bufs[up.index()]);
        act::gated_mul(&self.model.pool, &mut o, g, u, act::silu);
        self.put(out, o);
    }

    fn gelu_mul(&mut self, out: Act, gate: Act, up: Act) {
        let mut o = self.take(out);
        let (g, u) = (&self.s.bufs[gate.index()], &self.s.bufs[up.index()]);
        act::gated_mul(&self.model.pool, &mut o, g, u, act::gelu);
        self.put(out, o);
    }

    fn output_rows(&mut self, out: Act, x: Act) {
        let mut o = self.take(out);
        let src = &self.s.bufs[x.index()];
        let n = o.len();
        o.copy_from_slice(&src[src.len() - n..]);
        self.put(out, o);
    }
}
