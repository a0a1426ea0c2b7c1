//! The CPU reference backend: plain f32, one row at a time in each op of the
//! architecture's block (`arch::Weights::forward`). It is the oracle that every other
//! backend is compared with.

use hearth_gguf::Gguf;

use crate::arch::{Act, Backend};
use crate::ops::{RopeParams, add, attention, matvec, rms_norm, rope, silu_mul};
use crate::{Config, Matrix, ModelError, Result, Weights};

/// A model on the CPU reference: config and f32 weights, immutable once loaded.
#[derive(Debug, Clone)]
pub struct Model {
    pub config: Config,
    pub weights: Weights,
    rope: RopeParams,
}

/// Keys and values of every layer for the positions seen so far: one conversation.
#[derive(Debug, Clone)]
pub struct KvCache {
    k: Vec<Vec<f32>>, // per layer: (len, kv_dim)
    v: Vec<Vec<f32>>, // per layer: (len, kv_dim)
    len: usize,
    n_ctx: usize,
}

impl KvCache {
    /// Number of positions cached.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True when nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Most positions this cache takes.
    pub fn capacity(&self) -> usize {
        self.n_ctx
    }
    /// Forgets every position (a new conversation).
    pub fn clear(&mut self) {
        self.k.iter_mut().chain(&mut self.v).for_each(Vec::clear);
        self.len = 0;
    }
    /// Forgets positions from `len` on (to rewind to a shared prefix).
    pub fn truncate(&mut self, len: usize, kv_dim: usize) {
        if len < self.len {
            self.k
                .iter_mut()
                .chain(&mut self.v)
                .for_each(|c| c.truncate(len * kv_dim));
            self.len = len;
        }
    }

    /// Positions `[from, to)` as snapshot bytes ([`crate::kv_snapshot`]).
    pub fn export(&self, kv_dim: usize, from: usize, to: usize) -> Result<Vec<u8>> {
        crate::kv_snapshot::check_export(from, to, self.len)?;
        Ok(crate::kv_snapshot::export_rows(
            &self.k, &self.v, kv_dim, from, to,
        ))
    }

    /// Snapshot bytes written at position `at`; returns how many positions they were.
    pub fn import(&mut self, kv_dim: usize, at: usize, bytes: &[u8]) -> Result<usize> {
        let position = 2 * self.k.len() * kv_dim * 4;
        let n = crate::kv_snapshot::check_import(bytes.len(), position, at, self.len, self.n_ctx)?;
        crate::kv_snapshot::import_rows(&mut self.k, &mut self.v, kv_dim, at, n, bytes);
        self.len = at + n;
        Ok(n)
    }
}

impl Model {
    /// Loads the model in `file` (a whole GGUF in memory) with f32 weights.
    pub fn load(file: &[u8]) -> Result<Model> {
        let gguf = Gguf::read(file)?;
        Model::from_gguf(&gguf, file)
    }

    /// Builds the model from an already-parsed header and the file's bytes.
    pub fn from_gguf(gguf: &Gguf, file: &[u8]) -> Result<Model> {
        let config = Config::from_gguf(gguf)?;
        let weights = Weights::dequantized(gguf, file, &config)?;
        let rope = config.rope(weights.rope_freqs());
        Ok(Model {
            config,
            weights,
            rope,
        })
    }

    /// An empty KV cache for up to `n_ctx` positions (at most the trained context).
    pub fn new_cache(&self, n_ctx: usize) -> KvCache {
        let n = self.config.n_layer;
        KvCache {
            k: vec![Vec::new(); n],
            v: vec![Vec::new(); n],
            len: 0,
            n_ctx: n_ctx.min(self.config.n_ctx_train),
        }
    }

    /// Runs `tokens` through the model after what `cache` holds, appending to the cache,
    /// and returns the logits of every new position: (tokens.len(), n_vocab), row-major.
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
        self.run(tokens, cache, true)
    }

    /// Like [`Model::forward`], but returns only the last position's logits.
    pub fn forward_last(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
        self.run(tokens, cache, false)
    }

    /// One pass of the architecture's block over `tokens`, token by token in each op (the
    /// reference keeps the plain one-row loops); logits of every row or of the last.
    fn run(&self, tokens: &[u32], cache: &mut KvCache, all: bool) -> Result<Vec<f32>> {
        let c = &self.config;
        if cache.len + tokens.len() > cache.n_ctx {
            return Err(ModelError::Request(format!(
                "the context is full ({} tokens)",
                cache.n_ctx
            )));
        }
        if let Some(t) = tokens.iter().find(|&&t| t as usize >= c.n_vocab) {
            return Err(ModelError::Request(format!(
                "token id {t} is outside the vocabulary of {}",
                c.n_vocab
            )));
        }
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let att = vec![0.0; cache.n_ctx];
        let mut pass = Pass {
            c,
            rope: &self.rope,
            rope_local: c.rope_local(),
            pos: cache.len,
            cache,
            tokens,
            n_out: if all { tokens.len() } else { 1 },
            bufs: Default::default(),
            att,
        };
        self.weights.forward(&mut pass, c);
        pass.cache.len += tokens.len();
        Ok(std::mem::take(&mut pass.bufs[Act::Logits.index()]))
    }
}

/// One forward call of the reference: the batch, its KV cache and its activations.
struct Pass<'a> {
    c: &'a Config,
    rope: &'a RopeParams,
    rope_local: RopeParams,
    cache: &'a mut KvCache,
    tokens: &'a [u32],
    pos: usize,   // position of the batch's first token
    n_out: usize, // rows of Out, OutNorm and Logits
    bufs: [Vec<f32>; Act::ALL.len()],
    att: Vec<f32>, // attention scores of one head
}

impl Pass<'_> {
    /// Rows of `a` in this batch.
    fn rows(&self, a: Act) -> usize {
        if a.is_output() {
            self.n_out
        } else {
            self.tokens.len()
        }
    }
    /// Takes `a`'s buffer out, sized to its rows, to be written while others are read.
    fn take(&mut self, a: Act) -> Vec<f32> {
        let mut v = std::mem::take(&mut self.bufs[a.index()]);
        v.resize(self.rows(a) * a.width(self.c), 0.0);
        v
    }
    fn put(&mut self, a: Act, v: Vec<f32>) {
        self.bufs[a.index()] = v;
    }
    fn get(&self, a: Act) -> &[f32] {
        &self.bufs[a.index()]
    }
}

impl Backend for Pass<'_> {
    type Matrix = Matrix;
    type Vector = Vec<f32>;

    fn embedding(&mut self, out: Act, table: &Matrix, scale: f32) {
        let mut o = self.take(out);
        for (row, &t) in o.chunks_exact_mut(table.cols).zip(self.tokens) {
            for (o, &v) in row.iter_mut().zip(table.row(t as usize)) {
                *o = v * scale;
            }
        }
        self.put(out, o);
    }

    fn rms_norm(&mut self, out: Act, x: Act, w: &Vec<f32>, eps: f32) {
        let mut o = self.take(out);
        let width = x.width(self.c);
        for (orow, xrow) in o
            .chunks_exact_mut(width)
            .zip(self.get(x).chunks_exact(width))
        {
            rms_norm(orow, xrow, w, eps);
        }
        self.put(out, o);
    }

    fn norm_add(&mut self, x: Act, y: Act, w: &Vec<f32>, eps: f32) {
        let mut o = self.take(x);
        let width = x.width(self.c);
        for (orow, yrow) in o
            .chunks_exact_mut(width)
            .zip(self.get(y).chunks_exact(width))
        {
            crate::ops::norm_add(orow, yrow, w, eps);
        }
        self.put(x, o);
    }

    fn linear(&mut self, x: Act, outs: &[(Act, &Matrix)], accumulate: bool) {
        for &(out, w) in outs {
            let mut o = self.take(out);
            let mut y = vec![0.0; w.rows];
            for (orow, xrow) in o
                .chunks_exact_mut(w.rows)
                .zip(self.get(x).chunks_exact(w.cols))
            {
                matvec(&mut y, &w.data, xrow);
                match accumulate {
                    true => add(orow, &y),
                    false => orow.copy_from_slice(&y),
                }
            }
            self.put(out, o);
        }
    }

    fn rope(&mut self, x: Act, _n_heads: usize, local: bool) {
        let mut o = self.take(x);
        let (width, hd) = (x.width(self.c), self.c.head_dim);
        let params = match local {
            true => &self.rope_local,
            false => self.rope,
        };
        for (i, row) in o.chunks_exact_mut(width).enumerate() {
            rope(row, hd, self.pos + i, params);
        }
        self.put(x, o);
    }

    fn add_bias(&mut self, x: Act, b: &Vec<f32>) {
        let mut o = self.take(x);
        crate::ops::add_bias(&mut o, b);
        self.put(x, o);
    }

    fn head_norm(&mut self, x: Act, _n_heads: usize, w: &Vec<f32>, eps: f32) {
        let mut o = self.take(x);
        crate::ops::head_norm(&mut o, w, eps);
        self.put(x, o);
    }

    fn kv_store(&mut self, layer: usize, k: Act, v: Act) {
        let (kk, vv) = (&self.bufs[k.index()], &self.bufs[v.index()]);
        self.cache.k[layer].extend_from_slice(kk);
        self.cache.v[layer].extend_from_slice(vv);
    }

    fn attention(&mut self, layer: usize, out: Act, q: Act, window: Option<usize>) {
        let c = self.c;
        let mut o = self.take(out);
        let (hd, kv_dim, q_dim) = (c.head_dim, c.kv_dim(), c.q_dim());
        let (k, v) = (&self.cache.k[layer], &self.cache.v[layer]);
        for (i, (orow, qrow)) in o
            .chunks_exact_mut(q_dim)
            .zip(self.bufs[q.index()].chunks_exact(q_dim))
            .enumerate()
        {
            // token i sees positions first..=pos + i
            let last = self.pos + i;
            let first = window.map_or(0, |w| (last + 1).saturating_sub(w));
            let (seen, from) = ((last + 1) * kv_dim, first * kv_dim);
            for h in 0..c.n_head {
                let kv_off = (h / c.n_rep()) * hd;
                let qh = &qrow[h * hd..(h + 1) * hd];
                let oh = &mut orow[h * hd..(h + 1) * hd];
                attention(
                    oh,
                    qh,
                    &k[from..seen],
                    &v[from..seen],
                    kv_dim,
                    kv_off,
                    &mut self.att,
                );
            }
        }
        self.put(out, o);
    }

    fn silu_mul(&mut self, out: Act, gate: Act, up: Act) {
        let mut o = self.take(out);
        silu_mul(&mut o, self.get(gate), self.get(up));
        self.put(out, o);
    }

    fn gelu_mul(&mut self, out: Act, gate: Act, up: Act) {
        let mut o = self.take(out);
        crate::ops::gelu_mul(&mut o, self.get(gate), self.get(up));
        self.put(out, o);
    }

    fn output_rows(&mut self, out: Act, x: Act) {
        let mut o = self.take(out);
        let src = self.get(x);
        let n = o.len();
        o.copy_from_slice(&src[src.len() - n..]);
        self.put(out, o);
    }
}
