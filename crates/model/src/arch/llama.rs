//! The `llama` architecture (Llama 1–3, SmolLM2, TinyLlama, Mistral without sliding
//! windows): its tensor table and its block, written once against [`Backend`] for every
//! backend. Pre-norm RMSNorm, GQA attention with adjacent-pair RoPE, SwiGLU FFN, tied or
//! untied lm-head (`docs/gguf.md` §4). The block also runs the Llama-shaped families whose
//! tables add to it (`qwen2`: q/k/v biases; `qwen3`: per-head q/k norms): a layer has those
//! weights when its architecture's table lists them.

use super::{Act, Architecture, Backend, Dim, Loader, Table, TensorSpec};
use crate::{Config, ModelError, Result};

/// The GGUF's `general.architecture`.
pub const NAME: &str = "llama";
/// The family people know it by (the model manager shows it): Llama 1–3, SmolLM, TinyLlama, Mistral.
pub const FAMILY: &str = "Llama";
/// Llama rotates adjacent pairs.
pub const ROPE_NEOX: bool = false;

pub(super) const TOKEN_EMBD: TensorSpec =
    TensorSpec::matrix("token_embd.weight", Dim::Vocab, Dim::Embd);
pub(super) const OUTPUT_NORM: TensorSpec = TensorSpec::vector("output_norm.weight", Dim::Embd);
/// Absent when the lm-head is tied to the embedding.
pub(super) const OUTPUT: TensorSpec =
    TensorSpec::matrix("output.weight", Dim::Vocab, Dim::Embd).optional();
/// Llama 3.1's RoPE frequency divisors.
pub(super) const ROPE_FREQS: TensorSpec =
    TensorSpec::vector("rope_freqs.weight", Dim::RopeHalf).optional();

pub(super) const ATTN_NORM: TensorSpec = TensorSpec::vector("blk.{}.attn_norm.weight", Dim::Embd);
pub(super) const ATTN_Q: TensorSpec =
    TensorSpec::matrix("blk.{}.attn_q.weight", Dim::QDim, Dim::Embd);
pub(super) const ATTN_K: TensorSpec =
    TensorSpec::matrix("blk.{}.attn_k.weight", Dim::KvDim, Dim::Embd);
pub(super) const ATTN_V: TensorSpec =
    TensorSpec::matrix("blk.{}.attn_v.weight", Dim::KvDim, Dim::Embd);
pub(super) const ATTN_OUTPUT: TensorSpec =
    TensorSpec::matrix("blk.{}.attn_output.weight", Dim::Embd, Dim::QDim);
pub(super) const FFN_NORM: TensorSpec = TensorSpec::vector("blk.{}.ffn_norm.weight", Dim::Embd);
pub(super) const FFN_GATE: TensorSpec =
    TensorSpec::matrix("blk.{}.ffn_gate.weight", Dim::Ff, Dim::Embd);
pub(super) const FFN_UP: TensorSpec =
    TensorSpec::matrix("blk.{}.ffn_up.weight", Dim::Ff, Dim::Embd);
pub(super) const FFN_DOWN: TensorSpec =
    TensorSpec::matrix("blk.{}.ffn_down.weight", Dim::Embd, Dim::Ff);
/// Qwen2's projection biases.
pub(super) const ATTN_Q_BIAS: TensorSpec = TensorSpec::vector("blk.{}.attn_q.bias", Dim::QDim);
pub(super) const ATTN_K_BIAS: TensorSpec = TensorSpec::vector("blk.{}.attn_k.bias", Dim::KvDim);
pub(super) const ATTN_V_BIAS: TensorSpec = TensorSpec::vector("blk.{}.attn_v.bias", Dim::KvDim);
/// Qwen3's per-head RMSNorm gains of q and k.
pub(super) const ATTN_Q_NORM: TensorSpec =
    TensorSpec::vector("blk.{}.attn_q_norm.weight", Dim::HeadDim);
pub(super) const ATTN_K_NORM: TensorSpec =
    TensorSpec::vector("blk.{}.attn_k_norm.weight", Dim::HeadDim);

/// The model-wide tensors of the Llama-shaped families.
pub(super) const GLOBAL: &[TensorSpec] = &[TOKEN_EMBD, OUTPUT_NORM, OUTPUT, ROPE_FREQS];
/// A Llama block's tensors.
pub(super) const LAYER: [TensorSpec; 9] = [
    ATTN_NORM,
    ATTN_Q,
    ATTN_K,
    ATTN_V,
    ATTN_OUTPUT,
    FFN_NORM,
    FFN_GATE,
    FFN_UP,
    FFN_DOWN,
];

/// The tensor table. Biases and experts belong to related architectures (Qwen2, Mixtral)
/// that this block does not implement: such a model is refused rather than run wrongly.
pub const TABLE: Table = Table {
    global: GLOBAL,
    layer: &LAYER,
    unsupported: &[
        "attn_q.bias",
        "attn_k.bias",
        "attn_v.bias",
        "attn_output.bias",
        "ffn_gate_inp.weight",
    ],
};

/// The weights of one block, `blk.N.*`, in a backend's own matrix and vector types.
#[derive(Debug, Clone)]
pub struct Layer<M, V> {
    pub attn_norm: V,
    pub attn_q: M, // rows in the GGUF's order (adjacent-pair RoPE)
    pub attn_k: M,
    pub attn_v: M,
    pub attn_output: M,
    pub ffn_norm: V,
    pub ffn_gate: M,
    pub ffn_up: M,
    pub ffn_down: M,
    /// q, k and v biases (`qwen2`).
    pub qkv_bias: Option<[V; 3]>,
    /// q and k per-head norm gains (`qwen3`).
    pub qk_norm: Option<[V; 2]>,
}

/// All weights of a Llama model in a backend's own types.
#[derive(Debug, Clone)]
pub struct LlamaWeights<M, V> {
    pub token_embd: M,
    pub layers: Vec<Layer<M, V>>,
    pub output_norm: V,
    /// None: the lm-head is the embedding (tied).
    pub output: Option<M>,
    /// Llama 3.1+ RoPE frequency divisors, (rope_dim / 2).
    pub rope_freqs: Option<Vec<f32>>,
}

impl<M, V> LlamaWeights<M, V> {
    /// The lm-head: `output.weight`, or the token embedding when the two are tied.
    pub fn lm_head(&self) -> &M {
        self.output.as_ref().unwrap_or(&self.token_embd)
    }
}

impl<M, V> Architecture<M, V> for LlamaWeights<M, V> {
    fn load<E: From<ModelError>>(ld: &mut Loader<'_, M, V, E>) -> Result<Self, E> {
        let n_layer = ld.config.n_layer;
        let table = ld.config.arch.table();
        let has = |s: &TensorSpec| table.layer.contains(s);
        let (biased, normed) = (has(&ATTN_Q_BIAS), has(&ATTN_Q_NORM));
        let mut layers = Vec::with_capacity(n_layer.min(1024));
        for l in 0..n_layer {
            layers.push(Layer {
                attn_norm: ld.vector(&ATTN_NORM, l)?,
                attn_q: ld.matrix(&ATTN_Q, l)?,
                attn_k: ld.matrix(&ATTN_K, l)?,
                attn_v: ld.matrix(&ATTN_V, l)?,
                attn_output: ld.matrix(&ATTN_OUTPUT, l)?,
                ffn_norm: ld.vector(&FFN_NORM, l)?,
                ffn_gate: ld.matrix(&FFN_GATE, l)?,
                ffn_up: ld.matrix(&FFN_UP, l)?,
                ffn_down: ld.matrix(&FFN_DOWN, l)?,
                qkv_bias: match biased {
                    true => Some([
                        ld.vector(&ATTN_Q_BIAS, l)?,
                        ld.vector(&ATTN_K_BIAS, l)?,
                        ld.vector(&ATTN_V_BIAS, l)?,
                    ]),
                    false => None,
                },
                qk_norm: match normed {
                    true => Some([ld.vector(&ATTN_Q_NORM, l)?, ld.vector(&ATTN_K_NORM, l)?]),
                    false => None,
                },
            });
        }
        Ok(LlamaWeights {
            token_embd: ld.matrix(&TOKEN_EMBD, 0)?,
            layers,
            output_norm: ld.vector(&OUTPUT_NORM, 0)?,
            output: ld.try_matrix(&OUTPUT, 0)?,
            rope_freqs: ld.values(&ROPE_FREQS, 0)?,
        })
    }

    fn forward<B: Backend<Matrix = M, Vector = V>>(&self, b: &mut B, c: &Config) {
        forward(b, c, self)
    }

    fn matrices(&self) -> Vec<&M> {
        let blocks = self.layers.iter().flat_map(|l| {
            [
                &l.attn_q,
                &l.attn_k,
                &l.attn_v,
                &l.attn_output,
                &l.ffn_gate,
                &l.ffn_up,
                &l.ffn_down,
            ]
        });
        blocks.chain([self.lm_head()]).collect()
    }

    fn embedding(&self) -> &M {
        &self.token_embd
    }

    fn rope_freqs(&self) -> Option<&[f32]> {
        self.rope_freqs.as_deref()
    }
}

/// One forward call of the Llama block over the backend's current batch: embedding, then
/// per layer attention and FFN with residuals, then the final norm and lm-head over the
/// rows whose logits are wanted (into [`Act::Logits`]).
fn forward<B: Backend>(b: &mut B, c: &Config, w: &LlamaWeights<B::Matrix, B::Vector>) {
    // token embedding
    b.embedding(Act::X, &w.token_embd, 1.0);

    for (l, lw) in w.layers.iter().enumerate() {
        // attention: norm, q/k/v projections, RoPE on q and k, k and v into the cache
        b.rms_norm(Act::Xb, Act::X, &lw.attn_norm, c.rms_eps);
        b.linear(
            Act::Xb,
            &[
                (Act::Q, &lw.attn_q),
                (Act::K, &lw.attn_k),
                (Act::V, &lw.attn_v),
            ],
            false,
        );
        if let Some([bq, bk, bv]) = &lw.qkv_bias {
            b.add_bias(Act::Q, bq);
            b.add_bias(Act::K, bk);
            b.add_bias(Act::V, bv);
        }
        if let Some([nq, nk]) = &lw.qk_norm {
            b.head_norm(Act::Q, c.n_head, nq, c.rms_eps);
            b.head_norm(Act::K, c.n_head_kv, nk, c.rms_eps);
        }
        b.rope(Act::Q, c.n_head, false);
        b.rope(Act::K, c.n_head_kv, false);
        b.kv_store(l, Act::K, Act::V);
        // each query head attends to its KV head over the positions up to its own
        b.attention(l, Act::AttOut, Act::Q, None);
        // output projection and residual: x += W_o · att_out
        b.linear(Act::AttOut, &[(Act::X, &lw.attn_output)], true);

        // feed-forward: x += down(silu(gate(norm(x))) · up(norm(x)))
        b.rms_norm(Act::Xb, Act::X, &lw.ffn_norm, c.rms_eps);
        b.linear(
            Act::Xb,
            &[(Act::Gate, &lw.ffn_gate), (Act::Up, &lw.ffn_up)],
            false,
        );
        b.silu_mul(Act::Hb, Act::Gate, Act::Up);
        b.linear(Act::Hb, &[(Act::X, &lw.ffn_down)], true);
    }

    // final norm and lm-head over the wanted rows
    b.output_rows(Act::Out, Act::X);
    b.rms_norm(Act::OutNorm, Act::Out, &w.output_norm, c.rms_eps);
    b.linear(Act::OutNorm, &[(Act::Logits, w.lm_head())], false);
}
