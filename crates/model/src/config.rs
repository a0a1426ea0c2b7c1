//! A model's hyper-parameters, read once from GGUF metadata (`docs/gguf.md` §1.4). The
//! keys are prefixed with the architecture's name (`llama.block_count`, …).

use hearth_gguf::Gguf;

use crate::arch::Arch;
use crate::ops::RopeParams;
use crate::{ModelError, Result};

/// Hyper-parameters of a model. Each field names its GGUF key (`{arch}` stands for the
/// architecture's name; the docs write `llama`).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `general.architecture`.
    pub arch: Arch,
    /// `llama.vocab_size`, else the length of `tokenizer.ggml.tokens`.
    pub n_vocab: usize,
    /// `llama.embedding_length`.
    pub n_embd: usize,
    /// `llama.block_count`.
    pub n_layer: usize,
    /// `llama.attention.head_count`.
    pub n_head: usize,
    /// `llama.attention.head_count_kv` (default: `n_head`).
    pub n_head_kv: usize,
    /// `llama.attention.key_length` (default: `n_embd / n_head`).
    pub head_dim: usize,
    /// `llama.feed_forward_length`.
    pub n_ff: usize,
    /// `llama.attention.layer_norm_rms_epsilon`.
    pub rms_eps: f32,
    /// `llama.rope.freq_base` (default 10000).
    pub rope_base: f32,
    /// `llama.rope.dimension_count` (default: `head_dim`): the leading dims of a head that rotate.
    pub rope_dim: usize,
    /// 1 / `llama.rope.scaling.factor` for linear scaling (default 1).
    pub rope_freq_scale: f32,
    /// `llama.attention.sliding_window`: the positions a sliding-window layer sees (the
    /// architecture's block says which layers those are; Gemma 3: 5 of every 6).
    pub sliding_window: Option<usize>,
    /// `llama.rope.freq_base_swa` (default 10000): the RoPE base of the sliding-window
    /// layers, which rotate without scaling (`Config::rope_local`).
    pub rope_base_local: f32,
    /// `llama.context_length`: the context the model was trained for.
    pub n_ctx_train: usize,
    /// True when there is no `output.weight` and the lm-head reuses `token_embd.weight`.
    pub tied_embeddings: bool,
    /// True when the GGUF has `rope_freqs.weight` (Llama 3.1+ RoPE frequency factors).
    pub has_rope_freqs: bool,
}

impl Config {
    /// Reads the config of a model from its GGUF header; an architecture hearth does not
    /// run is an error naming the ones it does.
    pub fn from_gguf(gguf: &Gguf) -> Result<Config> {
        let md = &gguf.metadata;
        let arch = Arch::from_name(md.str("general.architecture")?.unwrap_or("(none)"))?;
        let prefix = arch.name();
        let key = |k: &str| format!("{prefix}.{k}");
        let req = |k: &str| -> Result<usize> { Ok(to_usize(md.req_u64(&key(k))?)) };
        // head counts may be per-layer arrays; hearth needs them uniform
        let per_layer = |k: &str| -> Result<Option<usize>> {
            if let Some(v) = md.u64(&key(k)).ok().flatten() {
                return Ok(Some(to_usize(v)));
            }
            match md.i64s(&key(k))? {
                None => Ok(None),
                Some(vals) => match vals.split_first() {
                    Some((&first, rest)) if rest.iter().all(|&v| v == first) && first >= 0 => {
                        Ok(Some(first as usize))
                    }
                    _ => Err(ModelError::Unsupported(format!(
                        "{} varies by layer or is empty",
                        key(k)
                    ))),
                },
            }
        };

        let n_embd = req("embedding_length")?;
        let n_layer = req("block_count")?;
        let n_head = per_layer("attention.head_count")?.ok_or_else(|| {
            ModelError::Invalid(format!("{} is missing", key("attention.head_count")))
        })?;
        let n_head_kv = per_layer("attention.head_count_kv")?.unwrap_or(n_head);
        let n_ff = per_layer("feed_forward_length")?.ok_or_else(|| {
            ModelError::Invalid(format!("{} is missing", key("feed_forward_length")))
        })?;
        if n_head == 0 || n_head_kv == 0 || n_head % n_head_kv != 0 {
            return Err(ModelError::Invalid(format!(
                "{n_head} query heads cannot share {n_head_kv} KV heads"
            )));
        }
        let head_dim = match md.u64(&key("attention.key_length"))? {
            Some(d) => to_usize(d),
            None if n_embd % n_head == 0 => n_embd / n_head,
            None => {
                return Err(ModelError::Invalid(format!(
                    "embedding {n_embd} is not a multiple of {n_head} heads"
                )));
            }
        };
        if let Some(v) = md.u64(&key("attention.value_length"))?
            && to_usize(v) != head_dim
        {
            return Err(ModelError::Unsupported(format!(
                "value length {v} differs from key length {head_dim}"
            )));
        }
        let rope_dim = md
            .u64(&key("rope.dimension_count"))?
            .map_or(head_dim, to_usize);
        if rope_dim > head_dim || rope_dim % 2 != 0 {
            return Err(ModelError::Invalid(format!(
                "RoPE dimension {rope_dim} does not fit head dimension {head_dim}"
            )));
        }
        let rms_eps = md
            .f64(&key("attention.layer_norm_rms_epsilon"))?
            .ok_or_else(|| {
                ModelError::Invalid(format!(
                    "{} is missing",
                    key("attention.layer_norm_rms_epsilon")
                ))
            })? as f32;
        let rope_base = md.f64(&key("rope.freq_base"))?.unwrap_or(10000.0) as f32;
        let scaling = md.str(&key("rope.scaling.type"))?.unwrap_or("linear");
        let factor = match md.f64(&key("rope.scaling.factor"))? {
            Some(f) => Some(f),
            None => md.f64(&key("rope.scale_linear"))?,
        };
        // a factor of 0 means no scaling, like an absent one
        let rope_freq_scale = match (scaling, factor.filter(|&f| f != 0.0)) {
            ("none", _) | (_, None) => 1.0,
            ("linear", Some(f)) if f.is_finite() && f > 0.0 => (1.0 / f) as f32,
            (other, Some(f)) => {
                return Err(ModelError::Unsupported(format!(
                    "RoPE scaling {other:?} with factor {f}"
                )));
            }
        };
        let n_vocab = match md.u64(&key("vocab_size"))? {
            Some(v) => to_usize(v),
            None => md
                .array("tokenizer.ggml.tokens")?
                .map(|a| a.len())
                .ok_or_else(|| ModelError::Invalid("the GGUF has no vocabulary".into()))?,
        };
        let n_ctx_train = req("context_length")?;
        let sliding_window = match md.u64(&key("attention.sliding_window"))? {
            Some(0) => {
                return Err(ModelError::Invalid(format!(
                    "{} is zero",
                    key("attention.sliding_window")
                )));
            }
            w => w.map(to_usize),
        };
        let rope_base_local = md.f64(&key("rope.freq_base_swa"))?.unwrap_or(10000.0) as f32;

        let cfg = Config {
            arch,
            n_vocab,
            n_embd,
            n_layer,
            n_head,
            n_head_kv,
            head_dim,
            n_ff,
            rms_eps,
            rope_base,
            rope_dim,
            rope_freq_scale,
            sliding_window,
            rope_base_local,
            n_ctx_train,
            tied_embeddings: gguf.tensor("output.weight").is_none(),
            has_rope_freqs: gguf.tensor("rope_freqs.weight").is_some(),
        };
        if [n_vocab, n_embd, n_layer, n_ff, head_dim, n_ctx_train].contains(&0) {
            return Err(ModelError::Invalid(format!("a size is zero: {cfg:?}")));
        }
        Ok(cfg)
    }

    /// The RoPE of this model, with the frequency divisors its weights carry (if any).
    pub fn rope(&self, freq_factors: Option<&[f32]>) -> RopeParams {
        RopeParams {
            dim: self.rope_dim,
            base: self.rope_base,
            freq_scale: self.rope_freq_scale,
            freq_factors: freq_factors.map(<[f32]>::to_vec),
            neox: self.arch.rope_neox(),
        }
    }

    /// The RoPE of the sliding-window layers: base `rope_base_local`, no scaling or
    /// frequency factors (llama.cpp's `rope_freq_base_train_swa`, scale 1).
    pub fn rope_local(&self) -> RopeParams {
        RopeParams {
            base: self.rope_base_local,
            freq_scale: 1.0,
            freq_factors: None,
            ..self.rope(None)
        }
    }

    /// Query heads per KV head (1 for multi-head attention).
    pub fn n_rep(&self) -> usize {
        self.n_head / self.n_head_kv
    }
    /// Width of all query heads together.
    pub fn q_dim(&self) -> usize {
        self.n_head * self.head_dim
    }
    /// Width of all KV heads together (one token's K or V row in the cache).
    pub fn kv_dim(&self) -> usize {
        self.n_head_kv * self.head_dim
    }
}

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}
