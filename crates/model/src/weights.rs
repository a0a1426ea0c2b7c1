//! Model weights, dequantized to f32 and named exactly like the GGUF tensors.

use hearth_gguf::{Gguf, TensorInfo, dequantize_vec};

use crate::{Config, ModelError, Result};

/// A dense f32 matrix, row-major: row `r` holds the `cols` weights dotted with the input
/// to give output `r` (GGUF shape `[cols, rows]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    /// Row `r` as a slice.
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }
}

/// The weights of one transformer block, `blk.N.*`.
#[derive(Debug, Clone)]
pub struct LayerWeights {
    pub attn_norm: Vec<f32>, // (n_embd)
    pub attn_q: Matrix,      // (q_dim, n_embd), rows permuted for adjacent-pair RoPE
    pub attn_k: Matrix,      // (kv_dim, n_embd)
    pub attn_v: Matrix,      // (kv_dim, n_embd)
    pub attn_output: Matrix, // (n_embd, q_dim)
    pub ffn_norm: Vec<f32>,  // (n_embd)
    pub ffn_gate: Matrix,    // (n_ff, n_embd)
    pub ffn_up: Matrix,      // (n_ff, n_embd)
    pub ffn_down: Matrix,    // (n_embd, n_ff)
}

/// All weights of a Llama model.
#[derive(Debug, Clone)]
pub struct Weights {
    pub token_embd: Matrix, // (n_vocab, n_embd): row t is token t's embedding
    pub layers: Vec<LayerWeights>, // n_layer
    pub output_norm: Vec<f32>, // (n_embd)
    pub output: Option<Matrix>, // (n_vocab, n_embd); None: tied to token_embd
    pub rope_freqs: Option<Vec<f32>>, // (rope_dim / 2): Llama 3.1+ frequency divisors
}

/// Tensor-name suffixes hearth does not implement; a model that has them is refused
/// rather than run wrongly.
const UNSUPPORTED: [&str; 5] = [
    "attn_q.bias",
    "attn_k.bias",
    "attn_v.bias",
    "attn_output.bias",
    "ffn_gate_inp.weight",
];

impl Weights {
    /// Reads and dequantizes every weight of `cfg`'s model from `file`, the whole GGUF.
    pub fn load(gguf: &Gguf, file: &[u8], cfg: &Config) -> Result<Weights> {
        check_supported(gguf)?;
        let (e, q, kv, ff) = (cfg.n_embd, cfg.q_dim(), cfg.kv_dim(), cfg.n_ff);
        let layers = (0..cfg.n_layer)
            .map(|i| {
                let m = |name: &str, rows, cols| {
                    matrix(gguf, file, &format!("blk.{i}.{name}.weight"), rows, cols)
                };
                let v = |name: &str| vector(gguf, file, &format!("blk.{i}.{name}.weight"), e);
                Ok(LayerWeights {
                    attn_norm: v("attn_norm")?,
                    attn_q: m("attn_q", q, e)?,
                    attn_k: m("attn_k", kv, e)?,
                    attn_v: m("attn_v", kv, e)?,
                    attn_output: m("attn_output", e, q)?,
                    ffn_norm: v("ffn_norm")?,
                    ffn_gate: m("ffn_gate", ff, e)?,
                    ffn_up: m("ffn_up", ff, e)?,
                    ffn_down: m("ffn_down", e, ff)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Weights {
            token_embd: matrix(gguf, file, "token_embd.weight", cfg.n_vocab, e)?,
            layers,
            output_norm: vector(gguf, file, "output_norm.weight", e)?,
            output: match cfg.tied_embeddings {
                true => None,
                false => Some(matrix(gguf, file, "output.weight", cfg.n_vocab, e)?),
            },
            rope_freqs: match cfg.has_rope_freqs {
                true => Some(vector(gguf, file, "rope_freqs.weight", cfg.rope_dim / 2)?),
                false => None,
            },
        })
    }

    /// The lm-head: `output.weight`, or the token embedding when the two are tied.
    pub fn lm_head(&self) -> &Matrix {
        self.output.as_ref().unwrap_or(&self.token_embd)
    }
}

fn matrix(gguf: &Gguf, file: &[u8], name: &str, rows: usize, cols: usize) -> Result<Matrix> {
    let data = tensor(gguf, file, name, &[cols, rows])?;
    Ok(Matrix { rows, cols, data })
}

fn vector(gguf: &Gguf, file: &[u8], name: &str, len: usize) -> Result<Vec<f32>> {
    tensor(gguf, file, name, &[len])
}

/// Dequantizes tensor `name` after checking its GGUF shape (ggml order) is `dims`.
fn tensor(gguf: &Gguf, file: &[u8], name: &str, dims: &[usize]) -> Result<Vec<f32>> {
    let t = tensor_info(gguf, name, dims)?;
    Ok(dequantize_vec(t.ty, gguf.tensor_bytes(file, t)?)?)
}

/// The tensor `name`, checked to have the GGUF shape `dims` (ggml order, trailing 1s
/// ignored). Shared by every backend's weight loader.
pub fn tensor_info<'a>(gguf: &'a Gguf, name: &str, dims: &[usize]) -> Result<&'a TensorInfo> {
    let t = gguf
        .tensor(name)
        .ok_or_else(|| ModelError::Invalid(format!("tensor {name:?} is missing")))?;
    let mut shape: Vec<u64> = t.dims.clone();
    while shape.len() > dims.len() && shape.last() == Some(&1) {
        shape.pop();
    }
    if shape.iter().copied().ne(dims.iter().map(|&d| d as u64)) {
        return Err(ModelError::Invalid(format!(
            "tensor {name:?} has shape {:?}, want {dims:?}",
            t.dims
        )));
    }
    Ok(t)
}

/// Refuses models with tensors hearth does not implement (biases, experts) rather than
/// running them wrongly.
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
