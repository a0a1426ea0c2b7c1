//! The CPU reference forward pass of a Llama model: plain f32, one token at a time, in
//! the order of `docs/gguf.md` §4. It is the oracle that every GPU test compares with.

use hearth_gguf::Gguf;

use crate::ops::{RopeParams, add, attention, matvec, rms_norm, rope, silu_mul};
use crate::{Config, ModelError, Result, Weights};

/// A Llama model on the CPU: config and f32 weights, immutable once loaded.
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
}

/// Activations of the current token (llama2.c's names), allocated once per model.
#[derive(Debug, Clone)]
struct Scratch {
    x: Vec<f32>,       // (n_embd) residual stream
    xb: Vec<f32>,      // (n_embd) normed input of a sublayer
    q: Vec<f32>,       // (q_dim)
    k: Vec<f32>,       // (kv_dim)
    v: Vec<f32>,       // (kv_dim)
    att_out: Vec<f32>, // (q_dim) concatenated head outputs
    proj: Vec<f32>,    // (n_embd) attention or FFN output before the residual add
    gate: Vec<f32>,    // (n_ff)
    up: Vec<f32>,      // (n_ff)
    hb: Vec<f32>,      // (n_ff) silu(gate) · up
    att: Vec<f32>,     // (n_ctx) attention scores of one head
    logits: Vec<f32>,  // (n_vocab)
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
        let weights = Weights::load(gguf, file, &config)?;
        let rope = RopeParams {
            dim: config.rope_dim,
            base: config.rope_base,
            freq_scale: config.rope_freq_scale,
            freq_factors: weights.rope_freqs.clone(),
        };
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
        let mut s = self.scratch(cache.len + tokens.len());
        let mut out = Vec::with_capacity(tokens.len() * self.config.n_vocab);
        for &t in tokens {
            self.forward_token(t, cache, &mut s)?;
            out.extend_from_slice(&s.logits);
        }
        Ok(out)
    }

    /// Like [`Model::forward`], but returns only the last position's logits.
    pub fn forward_last(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
        let mut s = self.scratch(cache.len + tokens.len());
        for &t in tokens {
            self.forward_token(t, cache, &mut s)?;
        }
        Ok(s.logits)
    }

    fn scratch(&self, n_ctx: usize) -> Scratch {
        let c = &self.config;
        Scratch {
            x: vec![0.0; c.n_embd],
            xb: vec![0.0; c.n_embd],
            q: vec![0.0; c.q_dim()],
            k: vec![0.0; c.kv_dim()],
            v: vec![0.0; c.kv_dim()],
            att_out: vec![0.0; c.q_dim()],
            proj: vec![0.0; c.n_embd],
            gate: vec![0.0; c.n_ff],
            up: vec![0.0; c.n_ff],
            hb: vec![0.0; c.n_ff],
            att: vec![0.0; n_ctx],
            logits: vec![0.0; c.n_vocab],
        }
    }

    /// One token at position `cache.len()`: fills `s.logits` and appends to the cache.
    fn forward_token(&self, token: u32, cache: &mut KvCache, s: &mut Scratch) -> Result<()> {
        let (c, w) = (&self.config, &self.weights);
        let pos = cache.len;
        if pos >= cache.n_ctx {
            return Err(ModelError::Request(format!(
                "the context is full ({} tokens)",
                cache.n_ctx
            )));
        }
        if token as usize >= c.n_vocab {
            return Err(ModelError::Request(format!(
                "token id {token} is outside the vocabulary of {}",
                c.n_vocab
            )));
        }
        let (hd, kv_dim) = (c.head_dim, c.kv_dim());

        // token embedding
        s.x.copy_from_slice(w.token_embd.row(token as usize));

        for (l, lw) in w.layers.iter().enumerate() {
            // attention: norm, q/k/v projections, RoPE on q and k, append k and v to the cache
            rms_norm(&mut s.xb, &s.x, &lw.attn_norm, c.rms_eps);
            matvec(&mut s.q, &lw.attn_q.data, &s.xb);
            matvec(&mut s.k, &lw.attn_k.data, &s.xb);
            matvec(&mut s.v, &lw.attn_v.data, &s.xb);
            rope(&mut s.q, hd, pos, &self.rope);
            rope(&mut s.k, hd, pos, &self.rope);
            cache.k[l].extend_from_slice(&s.k);
            cache.v[l].extend_from_slice(&s.v);

            // each query head h attends to KV head h / n_rep over positions 0..=pos
            for h in 0..c.n_head {
                let kv_off = (h / c.n_rep()) * hd;
                let q = &s.q[h * hd..(h + 1) * hd];
                let out = &mut s.att_out[h * hd..(h + 1) * hd];
                attention(out, q, &cache.k[l], &cache.v[l], kv_dim, kv_off, &mut s.att);
            }

            // output projection and residual
            matvec(&mut s.proj, &lw.attn_output.data, &s.att_out);
            add(&mut s.x, &s.proj);

            // feed-forward: x += down(silu(gate(norm(x))) · up(norm(x)))
            rms_norm(&mut s.xb, &s.x, &lw.ffn_norm, c.rms_eps);
            matvec(&mut s.gate, &lw.ffn_gate.data, &s.xb);
            matvec(&mut s.up, &lw.ffn_up.data, &s.xb);
            silu_mul(&mut s.hb, &s.gate, &s.up);
            matvec(&mut s.proj, &lw.ffn_down.data, &s.hb);
            add(&mut s.x, &s.proj);
        }
        cache.len += 1;

        // final norm and lm-head
        rms_norm(&mut s.xb, &s.x, &w.output_norm, c.rms_eps);
        matvec(&mut s.logits, &w.lm_head().data, &s.xb);
        Ok(())
    }
}
