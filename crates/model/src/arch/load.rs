//! The loader an architecture's weights are built with: it finds each tensor of the table
//! in the GGUF, checks its shape, and asks the backend to make its own matrix, vector or
//! host values of it.

use hearth_gguf::{Gguf, TensorInfo};

use super::table::{Table, TensorSpec};
use crate::{Config, ModelError};

/// Makes a backend's matrix of a tensor: `(info, rows, cols)`.
pub type MatrixFn<'a, M, E> = dyn FnMut(&TensorInfo, usize, usize) -> Result<M, E> + 'a;
/// Makes a backend's vector (a norm's gains) of a tensor: `(info, len)`.
pub type VectorFn<'a, V, E> = dyn FnMut(&TensorInfo, usize) -> Result<V, E> + 'a;
/// Reads a tensor's values as f32 into host memory (RoPE factors): `(info, len)`.
pub type ValuesFn<'a, E> = dyn FnMut(&TensorInfo, usize) -> Result<Vec<f32>, E> + 'a;

/// One model's weights being made, tensor spec by tensor spec, in a backend's types.
pub struct Loader<'a, M, V, E> {
    pub gguf: &'a Gguf,
    pub config: &'a Config,
    pub(super) matrix: &'a mut MatrixFn<'a, M, E>,
    pub(super) vector: &'a mut VectorFn<'a, V, E>,
    pub(super) values: &'a mut ValuesFn<'a, E>,
}

impl<M, V, E: From<ModelError>> Loader<'_, M, V, E> {
    /// The matrix of spec `s` in block `l` (0 for a model-wide one); None if the spec is
    /// optional and the model has no such tensor.
    pub fn try_matrix(&mut self, s: &TensorSpec, l: usize) -> Result<Option<M>, E> {
        match Table::find(self.gguf, self.config, s, l)? {
            Some(w) => Ok(Some((self.matrix)(w.info, w.rows, w.cols.unwrap_or(1))?)),
            None => Ok(None),
        }
    }

    /// The matrix of the required spec `s` in block `l`.
    pub fn matrix(&mut self, s: &TensorSpec, l: usize) -> Result<M, E> {
        self.try_matrix(s, l)?.ok_or_else(|| missing(s, l))
    }

    /// The vector of the required spec `s` in block `l`.
    pub fn vector(&mut self, s: &TensorSpec, l: usize) -> Result<V, E> {
        let w = Table::find(self.gguf, self.config, s, l)?.ok_or_else(|| missing::<E>(s, l))?;
        (self.vector)(w.info, w.rows)
    }

    /// The f32 values of spec `s` in block `l`, kept on the host; None if optional and
    /// absent.
    pub fn values(&mut self, s: &TensorSpec, l: usize) -> Result<Option<Vec<f32>>, E> {
        match Table::find(self.gguf, self.config, s, l)? {
            Some(w) => Ok(Some((self.values)(w.info, w.rows)?)),
            None => Ok(None),
        }
    }
}

/// The error for a required tensor that is absent (`Table::find` reports it first; this
/// is what a spec marked optional but asked for as required gets).
fn missing<E: From<ModelError>>(s: &TensorSpec, l: usize) -> E {
    let name = s.name.replace("{}", &l.to_string());
    ModelError::Invalid(format!("tensor {name:?} is missing")).into()
}
