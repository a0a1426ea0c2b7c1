//! Model weights, dequantized to f32 and named exactly like the GGUF tensors.

use hearth_gguf::{Gguf, TensorInfo, dequantize_vec};

use crate::arch;
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

/// All weights of a model, dequantized to f32 (the reference backend's).
pub type Weights = arch::Weights<Matrix, Vec<f32>>;

impl Weights {
    /// Reads and dequantizes every weight of `cfg`'s model from `file`, the whole GGUF.
    pub fn dequantized(gguf: &Gguf, file: &[u8], cfg: &Config) -> Result<Weights> {
        let floats = |t: &TensorInfo| -> Result<Vec<f32>> {
            Ok(dequantize_vec(t.ty, gguf.tensor_bytes(file, t)?)?)
        };
        Weights::load(
            gguf,
            cfg,
            |t, rows, cols| {
                Ok(Matrix {
                    rows,
                    cols,
                    data: floats(t)?,
                })
            },
            |t, _| floats(t),
            |t, _| floats(t),
        )
    }
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
