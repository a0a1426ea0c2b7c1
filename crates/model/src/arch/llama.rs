//! The `llama` architecture (Llama 1–3, SmolLM2, TinyLlama, Mistral without sliding
//! windows): its tensor table and its block, written once against [`Backend`] for every
//! backend. Pre-norm RMSNorm, GQA attention with adjacent-pair RoPE, SwiGLU FFN, tied or
//! untied lm-head (`docs/gguf.md` §4).

use hearth_gguf::{Gguf, TensorInfo};

use super::{Act, Backend};
use crate::weights::tensor_info;
use crate::{Config, ModelError, Result};

/// A size in the tensor table, resolved against a [`Config`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    Embd,
    QDim,
    KvDim,
    Ff,
    Vocab,
    /// rope_dim / 2: one factor per rotated pair
    RopeHalf,
}

impl Dim {
    /// The size in `c`.
    pub fn of(self, c: &Config) -> usize {
        match self {
            Dim::Embd => c.n_embd,
            Dim::QDim => c.q_dim(),
            Dim::KvDim => c.kv_dim(),
            Dim::Ff => c.n_ff,
            Dim::Vocab => c.n_vocab,
            Dim::RopeHalf => c.rope_dim / 2,
        }
    }
}

/// One tensor of the architecture: its GGUF name (`{}` is the block index), its shape as
/// (rows, cols) — a vector has no cols — and whether a model may leave it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: &'static str,
    pub rows: Dim,
    pub cols: Option<Dim>,
    pub optional: bool,
}

const fn matrix(name: &'static str, rows: Dim, cols: Dim) -> TensorSpec {
    TensorSpec {
        name,
        rows,
        cols: Some(cols),
        optional: false,
    }
}
const fn vector(name: &'static str, len: Dim) -> TensorSpec {
    TensorSpec {
        name,
        rows: len,
        cols: None,
        optional: false,
    }
}

/// The model-wide tensors. `output.weight` is absent when the lm-head is tied to the
/// embedding; `rope_freqs.weight` holds Llama 3.1's frequency divisors.
pub const GLOBAL_TENSORS: [TensorSpec; 4] = [
    matrix("token_embd.weight", Dim::Vocab, Dim::Embd),
    vector("output_norm.weight", Dim::Embd),
    TensorSpec {
        optional: true,
        ..matrix("output.weight", Dim::Vocab, Dim::Embd)
    },
    TensorSpec {
        optional: true,
        ..vector("rope_freqs.weight", Dim::RopeHalf)
    },
];

/// The tensors of block `{}`.
pub const LAYER_TENSORS: [TensorSpec; 9] = [
    vector("blk.{}.attn_norm.weight", Dim::Embd),
    matrix("blk.{}.attn_q.weight", Dim::QDim, Dim::Embd),
    matrix("blk.{}.attn_k.weight", Dim::KvDim, Dim::Embd),
    matrix("blk.{}.attn_v.weight", Dim::KvDim, Dim::Embd),
    matrix("blk.{}.attn_output.weight", Dim::Embd, Dim::QDim),
    vector("blk.{}.ffn_norm.weight", Dim::Embd),
    matrix("blk.{}.ffn_gate.weight", Dim::Ff, Dim::Embd),
    matrix("blk.{}.ffn_up.weight", Dim::Ff, Dim::Embd),
    matrix("blk.{}.ffn_down.weight", Dim::Embd, Dim::Ff),
];

/// Tensor-name suffixes of related architectures that this block does not implement; a
/// model that has them is refused rather than run wrongly.
pub const UNSUPPORTED: [&str; 5] = [
    "attn_q.bias",
    "attn_k.bias",
    "attn_v.bias",
    "attn_output.bias",
    "ffn_gate_inp.weight",
];

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
}

impl<M, V> Layer<M, V> {
    /// The block's matrices.
    pub fn matrices(&self) -> [&M; 7] {
        [
            &self.attn_q,
            &self.attn_k,
            &self.attn_v,
            &self.attn_output,
            &self.ffn_gate,
            &self.ffn_up,
            &self.ffn_down,
        ]
    }
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

    /// Bytes of weights one decoded token reads, `bytes(m)` being what matrix `m` takes
    /// in the backend: every block's matrices and the lm-head once, one embedding row.
    pub fn bytes_per_token(&self, c: &Config, bytes: impl Fn(&M) -> u64) -> u64 {
        let layers: u64 = self
            .layers
            .iter()
            .flat_map(Layer::matrices)
            .map(&bytes)
            .sum();
        layers + bytes(self.lm_head()) + bytes(&self.token_embd) / c.n_vocab.max(1) as u64
    }

    /// Loads every tensor of the table, shape-checked: `matrix(info, rows, cols)`,
    /// `vector(info, len)`, and `values(info, len)` for the f32 values the host keeps
    /// (RoPE factors).
    pub fn load<E: From<ModelError>>(
        gguf: &Gguf,
        c: &Config,
        mut matrix: impl FnMut(&TensorInfo, usize, usize) -> Result<M, E>,
        mut vector: impl FnMut(&TensorInfo, usize) -> Result<V, E>,
        mut values: impl FnMut(&TensorInfo, usize) -> Result<Vec<f32>, E>,
    ) -> Result<Self, E> {
        check_supported(gguf)?;
        let find = |s: &TensorSpec, l: usize| find(gguf, c, s, l);
        let mut mat = |s: &TensorSpec, l: usize| -> Result<Option<M>, E> {
            match find(s, l)? {
                Some(t) => Ok(Some(matrix(
                    t,
                    s.rows.of(c),
                    s.cols.map_or(1, |d| d.of(c)),
                )?)),
                None => Ok(None),
            }
        };
        let mut vec = |s: &TensorSpec, l: usize| -> Result<V, E> {
            let t = find(s, l)?.expect("a required tensor is found or an error");
            vector(t, s.rows.of(c))
        };
        let req = |m: Option<M>| m.expect("a required tensor is found or an error");
        let [
            attn_norm,
            attn_q,
            attn_k,
            attn_v,
            attn_output,
            ffn_norm,
            ffn_gate,
            ffn_up,
            ffn_down,
        ] = &LAYER_TENSORS;
        let mut layers = Vec::with_capacity(c.n_layer.min(1024));
        for l in 0..c.n_layer {
            layers.push(Layer {
                attn_norm: vec(attn_norm, l)?,
                attn_q: req(mat(attn_q, l)?),
                attn_k: req(mat(attn_k, l)?),
                attn_v: req(mat(attn_v, l)?),
                attn_output: req(mat(attn_output, l)?),
                ffn_norm: vec(ffn_norm, l)?,
                ffn_gate: req(mat(ffn_gate, l)?),
                ffn_up: req(mat(ffn_up, l)?),
                ffn_down: req(mat(ffn_down, l)?),
            });
        }
        let [token_embd, output_norm, output, rope_freqs] = &GLOBAL_TENSORS;
        let token_embd = req(mat(token_embd, 0)?);
        let output_norm = vec(output_norm, 0)?;
        let output = mat(output, 0)?;
        let rope_freqs = match find(rope_freqs, 0)? {
            Some(t) => Some(values(t, c.rope_dim / 2)?),
            None => None,
        };
        Ok(LlamaWeights {
            token_embd,
            layers,
            output_norm,
            output,
            rope_freqs,
        })
    }
}

/// A tensor a loader must fetch, with the shape the table gives it.
#[derive(Clone, Copy, Debug)]
pub struct Wanted<'g> {
    pub info: &'g TensorInfo,
    pub rows: usize,
    /// None for a vector (`rows` long).
    pub cols: Option<usize>,
}

/// Every tensor of the table that `gguf`'s model has (the optional ones only if present),
/// shape-checked, in table order: what a loader must fetch.
pub fn wanted_tensors<'g>(gguf: &'g Gguf, c: &Config) -> Result<Vec<Wanted<'g>>> {
    check_supported(gguf)?;
    let mut out = Vec::new();
    let mut add = |s: &TensorSpec, l: usize| -> Result<()> {
        if let Some(info) = find(gguf, c, s, l)? {
            let cols = s.cols.map(|d| d.of(c));
            out.push(Wanted {
                info,
                rows: s.rows.of(c),
                cols,
            });
        }
        Ok(())
    };
    for s in &GLOBAL_TENSORS {
        add(s, 0)?;
    }
    for l in 0..c.n_layer {
        for s in &LAYER_TENSORS {
            add(s, l)?;
        }
    }
    Ok(out)
}

/// The tensor of spec `s` in block `l`, shape-checked; None if it is optional and absent.
fn find<'g>(
    gguf: &'g Gguf,
    c: &Config,
    s: &TensorSpec,
    l: usize,
) -> Result<Option<&'g TensorInfo>> {
    let name = s.name.replace("{}", &l.to_string());
    let dims: Vec<usize> = s.cols.iter().chain([&s.rows]).map(|d| d.of(c)).collect();
    match gguf.tensor(&name) {
        None if s.optional => Ok(None),
        _ => tensor_info(gguf, &name, &dims).map(Some),
    }
}

/// Refuses models with tensors this architecture does not implement (biases, experts).
pub fn check_supported(gguf: &Gguf) -> Result<()> {
    match gguf
        .tensors
        .iter()
        .find(|t| UNSUPPORTED.iter().any(|s| t.name.ends_with(s)))
    {
        Some(t) => Err(ModelError::Unsupported(format!(
            "tensor {:?} (biases and experts are not implemented)",
            t.name
        ))),
        None => Ok(()),
    }
}

/// One forward call of the Llama block over the backend's current batch: embedding, then
/// per layer attention and FFN with residuals, then the final norm and lm-head over the
/// rows whose logits are wanted (into [`Act::Logits`]).
pub fn forward<B: Backend>(b: &mut B, c: &Config, w: &LlamaWeights<B::Matrix, B::Vector>) {
    // token embedding
    b.embedding(Act::X, &w.token_embd);

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
        b.rope(Act::Q, c.n_head);
        b.rope(Act::K, c.n_head_kv);
        b.kv_store(l, Act::K, Act::V);
        // each query head attends to its KV head over the positions up to its own
        b.attention(l, Act::AttOut, Act::Q);
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
