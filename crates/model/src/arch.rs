//! What an architecture is to hearth: the activations a forward pass names, and the
//! [`Backend`] trait whose calls an architecture's block is written against. Each
//! architecture is one file under `arch/` (its tensor table and its block); each backend
//! (the f32 reference here, `hearth-cpu`, `hearth-gpu`) implements the trait once.

pub mod llama;

/// An activation buffer of a forward pass. Each holds one row per token of the batch
/// (`Out`, `OutNorm` and `Logits`: one per token whose logits are wanted), of the width
/// given by [`Act::width`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Act {
    /// (n_embd) the residual stream
    X,
    /// (n_embd) the normed input of a sublayer
    Xb,
    /// (q_dim) queries
    Q,
    /// (kv_dim) keys of the new tokens
    K,
    /// (kv_dim) values of the new tokens
    V,
    /// (q_dim) the attention heads' outputs, concatenated
    AttOut,
    /// (n_ff) the FFN's gate projection
    Gate,
    /// (n_ff) the FFN's up projection
    Up,
    /// (n_ff) silu(gate) · up
    Hb,
    /// (n_embd) the residual rows whose logits are wanted
    Out,
    /// (n_embd) `Out` after the final norm
    OutNorm,
    /// (n_vocab) the logits
    Logits,
}

impl Act {
    /// Every activation, in index order.
    pub const ALL: [Act; 12] = [
        Act::X,
        Act::Xb,
        Act::Q,
        Act::K,
        Act::V,
        Act::AttOut,
        Act::Gate,
        Act::Up,
        Act::Hb,
        Act::Out,
        Act::OutNorm,
        Act::Logits,
    ];

    /// Position in [`Act::ALL`], for backends that keep their buffers in an array.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Floats per row of this activation in a model of config `c`.
    pub fn width(self, c: &crate::Config) -> usize {
        match self {
            Act::X | Act::Xb | Act::Out | Act::OutNorm => c.n_embd,
            Act::Q | Act::AttOut => c.q_dim(),
            Act::K | Act::V => c.kv_dim(),
            Act::Gate | Act::Up | Act::Hb => c.n_ff,
            Act::Logits => c.n_vocab,
        }
    }

    /// True for the activations that have one row per wanted logit row rather than one
    /// per token of the batch.
    pub fn is_output(self) -> bool {
        matches!(self, Act::Out | Act::OutNorm | Act::Logits)
    }
}

/// The ops an architecture's block is made of. A call acts on every row of the current
/// batch (the tokens a forward call runs, at positions `pos..pos + n`); a backend runs it
/// at once (the CPU backends) or records it into a program (the GPU).
pub trait Backend {
    /// A weight matrix as this backend holds it: `rows` outputs of `cols` inputs.
    type Matrix;
    /// A weight vector (a norm's gains) as this backend holds it.
    type Vector;

    /// out ← row `token` of `table`, for each token of the batch.
    fn embedding(&mut self, out: Act, table: &Self::Matrix);
    /// out = x / sqrt(mean(x²) + eps) · w, row by row.
    fn rms_norm(&mut self, out: Act, x: Act, w: &Self::Vector, eps: f32);
    /// For each `(out, w)`: out = x · wᵀ row by row, or out += x · wᵀ when `accumulate`.
    /// The outputs share one input, so a backend may read (or quantize) it once.
    fn linear(&mut self, x: Act, outs: &[(Act, &Self::Matrix)], accumulate: bool);
    /// Rotates `n_heads` heads of each row of `x` by its token's position (RoPE).
    fn rope(&mut self, x: Act, n_heads: usize);
    /// Appends the batch's keys `k` and values `v` to layer `layer`'s KV cache.
    fn kv_store(&mut self, layer: usize, k: Act, v: Act);
    /// out = softmax(q·Kᵀ/√d) · V per query head over layer `layer`'s cache, causal: a
    /// token sees the positions up to its own. Query head h reads KV head h / n_rep.
    fn attention(&mut self, layer: usize, out: Act, q: Act);
    /// out = silu(gate) · up.
    fn silu_mul(&mut self, out: Act, gate: Act, up: Act);
    /// out ← the rows of `x` whose logits the caller wants (the last token's, or all).
    fn output_rows(&mut self, out: Act, x: Act);
}
