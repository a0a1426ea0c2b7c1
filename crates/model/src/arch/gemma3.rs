//! The `gemma3` architecture (Gemma 3 text models: 270M, 1B, 4B, 12B): its tensor table
//! and its block. Against Llama's: the embedding scaled by √n_embd, an RMSNorm after each
//! sublayer as well as before it, per-head q/k RMSNorms before a NeoX RoPE, a GELU(tanh)
//! gated FFN, and sliding-window attention (`gemma3.attention.sliding_window`) with a RoPE
//! base of its own on 5 of every 6 layers (the 6th sees the whole context). The lm-head is
//! the embedding. The GGUF converter stores the norms' gains with Gemma's `1 +` folded in,
//! so they are plain RMSNorms here, as in llama.cpp.

use super::llama::{
    ATTN_K, ATTN_K_NORM, ATTN_NORM, ATTN_OUTPUT, ATTN_Q, ATTN_Q_NORM, ATTN_V, FFN_DOWN, FFN_GATE,
    FFN_NORM, FFN_UP, OUTPUT, OUTPUT_NORM, TOKEN_EMBD,
};
use super::{Act, Architecture, Backend, Dim, Loader, Table, TensorSpec};
use crate::{Config, ModelError, Result};

/// The GGUF's `general.architecture`.
pub const NAME: &str = "gemma3";
/// The family people know it by (the model manager shows it): Gemma 3.
pub const FAMILY: &str = "Gemma 3";
/// Gemma rotates dims i and i + d/2.
pub const ROPE_NEOX: bool = true;
/// Every `LOCAL_PERIOD`-th layer (the last of each run) attends globally; the others
/// through the sliding window (llama.cpp's `set_swa_pattern(6)`).
pub const LOCAL_PERIOD: usize = 6;

const POST_ATTN_NORM: TensorSpec =
    TensorSpec::vector("blk.{}.post_attention_norm.weight", Dim::Embd);
const POST_FFW_NORM: TensorSpec = TensorSpec::vector("blk.{}.post_ffw_norm.weight", Dim::Embd);

/// The tensor table.
pub const TABLE: Table = Table {
    global: &[TOKEN_EMBD, OUTPUT_NORM, OUTPUT],
    layer: &[
        ATTN_NORM,
        ATTN_Q,
        ATTN_K,
        ATTN_V,
        ATTN_Q_NORM,
        ATTN_K_NORM,
        ATTN_OUTPUT,
        POST_ATTN_NORM,
        FFN_NORM,
        FFN_GATE,
        FFN_UP,
        FFN_DOWN,
        POST_FFW_NORM,
    ],
    unsupported: &[
        "attn_q.bias",
        "attn_k.bias",
        "attn_v.bias",
        "attn_output.bias",
        "ffn_gate_inp.weight",
        "rope_freqs.weight",
    ],
};

/// The weights of one Gemma 3 block, `blk.N.*`.
#[derive(Debug, Clone)]
pub struct Layer<M, V> {
    pub attn_norm: V,
    pub attn_q: M,
    pub attn_k: M,
    pub attn_v: M,
    /// per-head RMSNorm gains of q and k (head_dim)
    pub q_norm: V,
    pub k_norm: V,
    pub attn_output: M,
    pub post_attn_norm: V,
    pub ffn_norm: V,
    pub ffn_gate: M,
    pub ffn_up: M,
    pub ffn_down: M,
    pub post_ffw_norm: V,
}

/// All weights of a Gemma 3 model in a backend's own types.
#[derive(Debug, Clone)]
pub struct Gemma3Weights<M, V> {
    pub token_embd: M,
    pub layers: Vec<Layer<M, V>>,
    pub output_norm: V,
    /// None (as published): the lm-head is the embedding.
    pub output: Option<M>,
}

/// Whether layer `l` attends through the sliding window (when the model has one).
pub fn is_local(l: usize) -> bool {
    !(l + 1).is_multiple_of(LOCAL_PERIOD)
}

impl<M, V> Architecture<M, V> for Gemma3Weights<M, V> {
    fn load<E: From<ModelError>>(ld: &mut Loader<'_, M, V, E>) -> Result<Self, E> {
        let c = ld.config;
        // Gemma 3 27B scales scores by 1/√(n_embd / n_head) (its query_pre_attn_scalar),
        // not by 1/√head_dim; llama.cpp knows it by its 62 layers. hearth scales by the
        // key length, which every smaller Gemma 3 uses.
        if c.n_layer == 62 && c.n_embd / c.n_head != c.head_dim {
            return Err(ModelError::Unsupported(
                "Gemma 3 27B's attention scale (1/√(n_embd/n_head))".into(),
            )
            .into());
        }
        let mut layers = Vec::with_capacity(c.n_layer.min(1024));
        for l in 0..c.n_layer {
            layers.push(Layer {
                attn_norm: ld.vector(&ATTN_NORM, l)?,
                attn_q: ld.matrix(&ATTN_Q, l)?,
                attn_k: ld.matrix(&ATTN_K, l)?,
                attn_v: ld.matrix(&ATTN_V, l)?,
                q_norm: ld.vector(&ATTN_Q_NORM, l)?,
                k_norm: ld.vector(&ATTN_K_NORM, l)?,
                attn_output: ld.matrix(&ATTN_OUTPUT, l)?,
                post_attn_norm: ld.vector(&POST_ATTN_NORM, l)?,
                ffn_norm: ld.vector(&FFN_NORM, l)?,
                ffn_gate: ld.matrix(&FFN_GATE, l)?,
                ffn_up: ld.matrix(&FFN_UP, l)?,
                ffn_down: ld.matrix(&FFN_DOWN, l)?,
                post_ffw_norm: ld.vector(&POST_FFW_NORM, l)?,
            });
        }
        Ok(Gemma3Weights {
            token_embd: ld.matrix(&TOKEN_EMBD, 0)?,
            layers,
            output_norm: ld.vector(&OUTPUT_NORM, 0)?,
            output: ld.try_matrix(&OUTPUT, 0)?,
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
        let head = self.output.as_ref().unwrap_or(&self.token_embd);
        blocks.chain([head]).collect()
    }

    fn embedding(&self) -> &M {
        &self.token_embd
    }

    fn rope_freqs(&self) -> Option<&[f32]> {
        None
    }
}

/// One forward call of the Gemma 3 block over the backend's current batch.
fn forward<B: Backend>(b: &mut B, c: &Config, w: &Gemma3Weights<B::Matrix, B::Vector>) {
    // the embedding, scaled by √n_embd (in f32, as llama.cpp does)
    b.embedding(Act::X, &w.token_embd, (c.n_embd as f32).sqrt());

    for (l, lw) in w.layers.iter().enumerate() {
        let window = c.sliding_window.filter(|_| is_local(l));
        let local = window.is_some();
        // attention: pre-norm, q/k/v, per-head q/k norms, RoPE, cache, (windowed) attention
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
        b.head_norm(Act::Q, c.n_head, &lw.q_norm, c.rms_eps);
        b.head_norm(Act::K, c.n_head_kv, &lw.k_norm, c.rms_eps);
        b.rope(Act::Q, c.n_head, local);
        b.rope(Act::K, c.n_head_kv, local);
        b.kv_store(l, Act::K, Act::V);
        b.attention(l, Act::AttOut, Act::Q, window);
        // output projection, post-norm, residual: x += norm(W_o · att_out)
        b.linear(Act::AttOut, &[(Act::Xb, &lw.attn_output)], false);
        b.norm_add(Act::X, Act::Xb, &lw.post_attn_norm, c.rms_eps);

        // feed-forward: x += norm(down(gelu(gate(norm(x))) · up(norm(x))))
        b.rms_norm(Act::Xb, Act::X, &lw.ffn_norm, c.rms_eps);
        b.linear(
            Act::Xb,
            &[(Act::Gate, &lw.ffn_gate), (Act::Up, &lw.ffn_up)],
            false,
        );
        b.gelu_mul(Act::Hb, Act::Gate, Act::Up);
        b.linear(Act::Hb, &[(Act::Xb, &lw.ffn_down)], false);
        b.norm_add(Act::X, Act::Xb, &lw.post_ffw_norm, c.rms_eps);
    }

    // final norm and lm-head (the embedding) over the wanted rows
    b.output_rows(Act::Out, Act::X);
    b.rms_norm(Act::OutNorm, Act::Out, &w.output_norm, c.rms_eps);
    let head = w.output.as_ref().unwrap_or(&w.token_embd);
    b.linear(Act::OutNorm, &[(Act::Logits, head)], false);
}
