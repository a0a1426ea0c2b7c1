//! An architecture's tensor table: the GGUF tensors it reads, their shapes in terms of the
//! [`Config`], which a model may leave out, and the tensors of related architectures it
//! refuses. Every loader (reference, CPU engine, GPU, the streaming ones) works from it.

use hearth_gguf::{Gguf, TensorInfo};

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
    /// one attention head's width
    HeadDim,
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
            Dim::HeadDim => c.head_dim,
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

impl TensorSpec {
    /// A required matrix of `rows` outputs by `cols` inputs.
    pub const fn matrix(name: &'static str, rows: Dim, cols: Dim) -> TensorSpec {
        TensorSpec {
            name,
            rows,
            cols: Some(cols),
            optional: false,
        }
    }

    /// A required vector of `len` values.
    pub const fn vector(name: &'static str, len: Dim) -> TensorSpec {
        TensorSpec {
            name,
            rows: len,
            cols: None,
            optional: false,
        }
    }

    /// The same tensor, which a model may leave out.
    pub const fn optional(self) -> TensorSpec {
        TensorSpec {
            optional: true,
            ..self
        }
    }
}

/// The whole table of an architecture.
#[derive(Clone, Copy, Debug)]
pub struct Table {
    /// The model-wide tensors.
    pub global: &'static [TensorSpec],
    /// The tensors of each block (`{}` in their names is the block index).
    pub layer: &'static [TensorSpec],
    /// Tensor-name suffixes of related architectures that the block does not implement: a
    /// model that has them is refused rather than run wrongly.
    pub unsupported: &'static [&'static str],
}

/// A tensor a loader must fetch, with the shape the table gives it.
#[derive(Clone, Copy, Debug)]
pub struct Wanted<'g> {
    pub info: &'g TensorInfo,
    pub rows: usize,
    /// None for a vector (`rows` long).
    pub cols: Option<usize>,
}

impl Table {
    /// Refuses models with tensors this architecture does not implement.
    pub fn check_supported(&self, gguf: &Gguf) -> Result<()> {
        match gguf
            .tensors
            .iter()
            .find(|t| self.unsupported.iter().any(|s| t.name.ends_with(s)))
        {
            Some(t) => Err(ModelError::Unsupported(format!(
                "tensor {:?} (this architecture's block does not use it)",
                t.name
            ))),
            None => Ok(()),
        }
    }

    /// The tensor of spec `s` in block `l`, shape-checked; None if it is optional and absent.
    pub fn find<'g>(
        gguf: &'g Gguf,
        c: &Config,
        s: &TensorSpec,
        l: usize,
    ) -> Result<Option<Wanted<'g>>> {
        let name = s.name.replace("{}", &l.to_string());
        let (rows, cols) = (s.rows.of(c), s.cols.map(|d| d.of(c)));
        let dims: Vec<usize> = cols.iter().copied().chain([rows]).collect();
        match gguf.tensor(&name) {
            None if s.optional => Ok(None),
            _ => Ok(Some(Wanted {
                info: tensor_info(gguf, &name, &dims)?,
                rows,
                cols,
            })),
        }
    }

    /// Every tensor of the table that `gguf`'s model has (the optional ones only if
    /// present), shape-checked, model-wide ones first, then block by block: what a loader
    /// must fetch.
    pub fn wanted<'g>(&self, gguf: &'g Gguf, c: &Config) -> Result<Vec<Wanted<'g>>> {
        self.check_supported(gguf)?;
        let globals = self.global.iter().map(|s| (s, 0));
        let layers = (0..c.n_layer).flat_map(|l| self.layer.iter().map(move |s| (s, l)));
        let mut out = Vec::new();
        for (s, l) in globals.chain(layers) {
            out.extend(Table::find(gguf, c, s, l)?);
        }
        Ok(out)
    }
}
