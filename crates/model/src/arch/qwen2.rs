//! The `qwen2` architecture (Qwen2, Qwen2.5, DeepSeek-R1-Distill-Qwen): the Llama block
//! ([`super::llama`]) with biases on the q, k and v projections and NeoX-style RoPE (dims
//! i and i + d/2 of a head rotate together), tied or untied lm-head.

use super::Table;
use super::llama::{ATTN_K_BIAS, ATTN_Q_BIAS, ATTN_V_BIAS, GLOBAL, LAYER, LlamaWeights};

/// The GGUF's `general.architecture`.
pub const NAME: &str = "qwen2";
/// The family people know it by (the model manager shows it): Qwen2, Qwen2.5, DeepSeek-R1-Distill-Qwen.
pub const FAMILY: &str = "Qwen2";
/// Qwen rotates dims i and i + d/2.
pub const ROPE_NEOX: bool = true;

/// The Llama table with the three projection biases.
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
        ATTN_Q_BIAS,
        ATTN_K_BIAS,
        ATTN_V_BIAS,
    ],
    unsupported: &["attn_output.bias", "ffn_gate_inp.weight"],
};

/// Qwen2's weights: a Llama layer with `qkv_bias`.
pub type Qwen2Weights<M, V> = LlamaWeights<M, V>;
