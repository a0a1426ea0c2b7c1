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

/// The weights of one transformer block, `blk.N.*`: f32 on the CPU (the defaults); the
/// GPU engine uses the same struct with its own buffer types.
#[derive(Debug, Clone)]
pub struct LayerWeights<M = Matrix, V = Vec<f32>> {
    pub attn_norm: V,   // (n_embd)
    pub attn_q: M,      // (q_dim, n_embd), rows permuted for adjacent-pair RoPE
    pub attn_k: M,      // (kv_dim, n_embd)
    pub attn_v: M,      // (kv_dim, n_embd)
    pub attn_output: M, // (n_embd, q_dim)
    pub ffn_norm: V,    // (n_embd)
    pub ffn_gate: M,    // (n_ff, n_embd)
    pub ffn_up: M,      // (n_ff, n_embd)
    pub ffn_down: M,    // (n_embd, n_ff)
}

impl<M, V> LayerWeights<M, V> {
    /// Loads block `i` of `cfg`'s model with `matrix(name, rows, cols)` and
    /// `vector(name, len)`, which get the full GGUF tensor names and the expected shapes.
    pub fn load<E>(
        cfg: &Config,
        i: usize,
        mut matrix: impl FnMut(&str, usize, usize) -> Result<M, E>,
        mut vector: impl FnMut(&str, usize) -> Result<V, E>,
    ) -> Result<Self, E> {
        let (e, q, kv, ff) = (cfg.n_embd, cfg.q_dim(), cfg.kv_dim(), cfg.n_ff);
        let name = |t: &str| format!("blk.{i}.{t}.weight");
        Ok(LayerWeights {
            attn_norm: vector(&name("attn_norm"), e)?,
            attn_q: matrix(&name("attn_q"), q, e)?,
            attn_k: matrix(&name("attn_k"), kv, e)?,
            attn_v: matrix(&name("attn_v"), kv, e)?,
            attn_output: matrix(&name("attn_output"), e, q)?,
            ffn_norm: vector(&name("ffn_norm"), e)?,
            ffn_gate: matrix(&name("ffn_gate"), ff, e)?,
            ffn_up: matrix(&name("ffn_up"), ff, e)?,
            ffn_down: matrix(&name("ffn_down"), e, ff)?,
        })
    }
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
        let e = cfg.n_embd;
        let layers = (0..cfg.n_layer)
            .map(|i| {
                LayerWeights::load(
                    cfg,
                    i,
                    |name, rows, cols| matrix(gguf, file, name, rows, cols),
                    |name, len| vector(gguf, file, name, len),
                )
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
