//! What an architecture is to hearth: the activations a forward pass names, the
//! [`Backend`] trait whose calls an architecture's block is written against, and the
//! registry of architectures. Each architecture is one file under `arch/` (its name, its
//! tensor table, its weights and its block: [`Architecture`]); each backend (the f32
//! reference here, `hearth-cpu`, `hearth-gpu`) implements [`Backend`] once and holds a
//! model's weights as [`Weights`], whatever its architecture.
//!
//! Adding an architecture: write `arch/<name>.rs` (copy `llama.rs`'s shape), add one line
//! to the `architectures!` list below, and add to [`Backend`] (and its three
//! implementations) only the ops the new block really lacks.

use hearth_gguf::{Gguf, TensorInfo};

use crate::{Config, ModelError, Result};

mod load;
pub mod table;

pub mod gemma3;
pub mod llama;
pub mod qwen2;
pub mod qwen3;

pub use load::Loader;
pub use table::{Dim, Table, TensorSpec, Wanted};

/// What an architecture file provides: its weights in a backend's matrix (`M`) and vector
/// (`V`) types, loaded from its table, and its block written against [`Backend`].
pub trait Architecture<M, V>: Sized {
    /// Builds every weight through `ld` (which shape-checks each against the table).
    fn load<E: From<ModelError>>(ld: &mut Loader<'_, M, V, E>) -> Result<Self, E>;
    /// One forward call of the block over the backend's current batch, ending with the
    /// logits of the wanted rows in [`Act::Logits`].
    fn forward<B: Backend<Matrix = M, Vector = V>>(&self, b: &mut B, c: &Config);
    /// Every matrix a decoded token reads whole (the blocks' and the lm-head).
    fn matrices(&self) -> Vec<&M>;
    /// The token embedding (of which a decoded token reads one row).
    fn embedding(&self) -> &M;
    /// RoPE frequency divisors (rope_dim / 2) when the model has them.
    fn rope_freqs(&self) -> Option<&[f32]>;
}

/// Declares the registry: `Variant => module::WeightsType`, where `module` has
/// `NAME` (its `general.architecture`), `FAMILY` (its name for people), `TABLE` ([`Table`]) and `ROPE_NEOX` (its RoPE
/// pairs dims i and i + d/2 rather than adjacent ones) and `WeightsType` implements
/// [`Architecture`].
macro_rules! architectures {
    ($($variant:ident => $module:ident :: $weights:ident),+ $(,)?) => {
        /// An architecture hearth runs (a GGUF's `general.architecture`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Arch {
            $(#[doc = concat!("`", stringify!($module), "`")] $variant),+
        }

        impl Arch {
            /// Every architecture, in registry order.
            pub const ALL: &[Arch] = &[$(Arch::$variant),+];

            /// The GGUF name (`general.architecture`, the prefix of its metadata keys).
            pub fn name(self) -> &'static str {
                match self { $(Arch::$variant => $module::NAME),+ }
            }

            /// The family's name for people ("Gemma 3"), as the model manager shows it.
            pub fn family(self) -> &'static str {
                match self { $(Arch::$variant => $module::FAMILY),+ }
            }

            /// The tensor table.
            pub fn table(self) -> &'static Table {
                match self { $(Arch::$variant => &$module::TABLE),+ }
            }

            /// Whether its RoPE is GGML's NeoX style (`hearth_model::ops::RopeParams::neox`).
            pub fn rope_neox(self) -> bool {
                match self { $(Arch::$variant => $module::ROPE_NEOX),+ }
            }
        }

        /// A model's weights in a backend's types, whatever its architecture.
        #[derive(Debug, Clone)]
        pub enum Weights<M, V> {
            $($variant($module::$weights<M, V>)),+
        }

        impl<M, V> Weights<M, V> {
            fn load_arch<E: From<ModelError>>(ld: &mut Loader<'_, M, V, E>) -> Result<Self, E> {
                Ok(match ld.config.arch {
                    $(Arch::$variant => Weights::$variant(
                        <$module::$weights<M, V> as Architecture<M, V>>::load(ld)?,
                    )),+
                })
            }

            /// One forward call of the model's block over the backend's current batch.
            pub fn forward<B: Backend<Matrix = M, Vector = V>>(&self, b: &mut B, c: &Config) {
                match self { $(Weights::$variant(w) => w.forward(b, c)),+ }
            }

            fn matrices(&self) -> Vec<&M> {
                match self { $(Weights::$variant(w) => Architecture::<M, V>::matrices(w)),+ }
            }

            fn embedding(&self) -> &M {
                match self { $(Weights::$variant(w) => Architecture::<M, V>::embedding(w)),+ }
            }

            /// RoPE frequency divisors (rope_dim / 2) when the model has them.
            pub fn rope_freqs(&self) -> Option<&[f32]> {
                match self { $(Weights::$variant(w) => Architecture::<M, V>::rope_freqs(w)),+ }
            }
        }
    };
}

architectures! {
    Llama => llama::LlamaWeights,
    Qwen2 => qwen2::Qwen2Weights,
    Qwen3 => qwen3::Qwen3Weights,
    Gemma3 => gemma3::Gemma3Weights,
}

impl Arch {
    /// The architecture named `name`, or an error listing the ones hearth runs.
    pub fn from_name(name: &str) -> Result<Arch> {
        Arch::ALL
            .iter()
            .copied()
            .find(|a| a.name() == name)
            .ok_or_else(|| {
                let known: Vec<String> = Arch::ALL
                    .iter()
                    .map(|a| format!("{:?}", a.name()))
                    .collect();
                ModelError::Unsupported(format!(
                    "architecture {name:?} (hearth runs {})",
                    known.join(", ")
                ))
            })
    }

    /// What `gguf`'s model needs that hearth lacks, one line each (empty: it runs): an
    /// architecture or hyper-parameter hearth does not implement, tensors of related
    /// architectures the block does not use, weights in an activation-only format, a
    /// missing or misshapen tensor, an unusable tokenizer.
    pub fn lacks(gguf: &Gguf) -> Vec<String> {
        let mut out = Vec::new();
        match Config::from_gguf(gguf) {
            Err(e) => out.push(e.to_string()),
            Ok(c) => {
                let table = c.arch.table();
                let mut foreign: Vec<&str> = Vec::new();
                for t in &gguf.tensors {
                    if let Some(s) = table.unsupported.iter().find(|s| t.name.ends_with(*s))
                        && !foreign.contains(s)
                    {
                        foreign.push(s);
                    }
                }
                if !foreign.is_empty() {
                    out.push(format!(
                        "tensors the {} block does not use: {}",
                        c.arch.name(),
                        foreign.join(", ")
                    ));
                } else if let Err(e) = table.wanted(gguf, &c) {
                    out.push(e.to_string());
                }
            }
        }
        let activation_only = [hearth_gguf::GgmlType::Q8_1, hearth_gguf::GgmlType::Q8_K];
        if let Some(t) = gguf
            .tensors
            .iter()
            .find(|t| activation_only.contains(&t.ty))
        {
            out.push(format!(
                "weights in {:?} (tensor {:?}), a format hearth only knows for activations",
                t.ty, t.name
            ));
        }
        if let Err(e) = crate::tokenizer::Tokenizer::from_gguf(&gguf.metadata) {
            out.push(e.to_string());
        }
        out
    }

    /// The tensors of `gguf`'s model (of config `c`) a loader must fetch, shape-checked.
    pub fn wanted_tensors<'g>(gguf: &'g Gguf, c: &Config) -> Result<Vec<Wanted<'g>>> {
        c.arch.table().wanted(gguf, c)
    }
}

impl<M, V> Weights<M, V> {
    /// Loads every tensor of the architecture's table, shape-checked: `matrix(info, rows,
    /// cols)`, `vector(info, len)`, and `values(info, len)` for the f32 values the host
    /// keeps (RoPE factors). Refuses tensors the architecture does not implement.
    pub fn load<E: From<ModelError>>(
        gguf: &Gguf,
        c: &Config,
        mut matrix: impl FnMut(&TensorInfo, usize, usize) -> Result<M, E>,
        mut vector: impl FnMut(&TensorInfo, usize) -> Result<V, E>,
        mut values: impl FnMut(&TensorInfo, usize) -> Result<Vec<f32>, E>,
    ) -> Result<Self, E> {
        c.arch.table().check_supported(gguf)?;
        let mut ld = Loader {
            gguf,
            config: c,
            matrix: &mut matrix,
            vector: &mut vector,
            values: &mut values,
        };
        Weights::load_arch(&mut ld)
    }

    /// Bytes of weights one decoded token reads, `bytes(m)` being what matrix `m` takes
    /// in the backend: every matrix once, one embedding row.
    pub fn bytes_per_token(&self, c: &Config, bytes: impl Fn(&M) -> u64) -> u64 {
        let whole: u64 = self.matrices().into_iter().map(&bytes).sum();
        whole + bytes(self.embedding()) / c.n_vocab.max(1) as u64
    }
}

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

    /// out ← row `token` of `table` · scale, for each token of the batch (Gemma scales its
    /// embedding by √n_embd; the others by 1).
    fn embedding(&mut self, out: Act, table: &Self::Matrix, scale: f32);
    /// out = x / sqrt(mean(x²) + eps) · w, row by row.
    fn rms_norm(&mut self, out: Act, x: Act, w: &Self::Vector, eps: f32);
    /// x += rms_norm(y) · w, row by row: a sublayer's output normed before the residual
    /// (Gemma's post-attention and post-FFN norms). `y` is another activation than `x`.
    fn norm_add(&mut self, x: Act, y: Act, w: &Self::Vector, eps: f32);
    /// For each `(out, w)`: out = x · wᵀ row by row, or out += x · wᵀ when `accumulate`.
    /// The outputs share one input, so a backend may read (or quantize) it once.
    fn linear(&mut self, x: Act, outs: &[(Act, &Self::Matrix)], accumulate: bool);
    /// Rotates `n_heads` heads of each row of `x` by its token's position (RoPE, in the
    /// model's pairing: `Config::rope`); `local` picks the RoPE of the sliding-window layers
    /// (`Config::rope_local`: Gemma 3's own base) instead.
    fn rope(&mut self, x: Act, n_heads: usize, local: bool);
    /// x += b on every row (a projection's bias).
    fn add_bias(&mut self, x: Act, b: &Self::Vector);
    /// Each of the `n_heads` heads of each row of `x` (head_dim wide) RMS-normed in place
    /// with the gains `w` (head_dim), as rms_norm does a row.
    fn head_norm(&mut self, x: Act, n_heads: usize, w: &Self::Vector, eps: f32);
    /// Appends the batch's keys `k` and values `v` to layer `layer`'s KV cache.
    fn kv_store(&mut self, layer: usize, k: Act, v: Act);
    /// out = softmax(q·Kᵀ/√d) · V per query head over layer `layer`'s cache, causal: a
    /// token sees the positions up to its own, and with a `window` of w only the last w of
    /// them (positions p − w + 1 ..= p: sliding-window attention). Query head h reads KV
    /// head h / n_rep.
    fn attention(&mut self, layer: usize, out: Act, q: Act, window: Option<usize>);
    /// out = silu(gate) · up (SwiGLU).
    fn silu_mul(&mut self, out: Act, gate: Act, up: Act);
    /// out = gelu(gate) · up with GELU's tanh form (GeGLU: Gemma).
    fn gelu_mul(&mut self, out: Act, gate: Act, up: Act);
    /// out ← the rows of `x` whose logits the caller wants (the last token's, or all).
    fn output_rows(&mut self, out: Act, x: Act);
}
