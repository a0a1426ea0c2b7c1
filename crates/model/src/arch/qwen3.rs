//! The `qwen3` architecture (Qwen3 dense models): the Llama block ([`super::llama`]) with
//! an RMSNorm on each head of q and k before RoPE, NeoX-style RoPE, no biases, and a head
//! width of its own (`qwen3.attention.key_length`: Qwen3-0.6B has 16 heads of 128 in a
//! 1024-wide model).

use super::Table;
use super::llama::{ATTN_K_NORM, ATTN_Q_NORM, GLOBAL, LAYER, LlamaWeights};

/// The GGUF's `general.architecture`.
pub const NAME: &str = "qwen3";
/// The family people know it by (the model manager shows it): Qwen3.
pub const FAMILY: &str = "Qwen3";
/// Qwen rotates dims i and i + d/2.
pub const ROPE_NEOX: bool = true;

/// The Llama table with the q and k norms.
pub const TABLE: Table = Table {
    global: GLOBAL,
    layer: &[
        LAYER[0],
        LAYER[1],
        LAYER[2],
        LAYER[3],
        LAYER[4],
        LAYER[5],
        LAYER[6],
        LAYER[7],
        LAYER[8],
        ATTN_Q_NORM,
        ATTN_K_NORM,
    ],
    unsupported: &[
        "attn_q.bias",
        "attn_k.bias",
        "attn_v.bias",
        "attn_output.bias",
        "ffn_gate_inp.weight",
    ],
};

/// Qwen3's weights: a Llama layer with `qk_norm`.
pub type Qwen3Weights<M, V> = LlamaWeights<M, V>;
