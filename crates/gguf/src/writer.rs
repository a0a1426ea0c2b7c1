//! An in-memory GGUF writer (`docs/gguf.md` §1): metadata and tensors in, a spec-conformant
//! file out. Meant for tests and tools that build small models; it checks what it is given,
//! so every file it writes is one [`Gguf::read`](crate::Gguf::read) accepts.
//!
//! ```
//! use hearth_gguf::{GgmlType, Gguf, GgufWriter};
//!
//! let mut w = GgufWriter::new();
//! w.add_metadata("general.architecture", "llama")?
//!     .add_metadata("llama.block_count", 2u32)?
//!     .add_metadata("tokenizer.ggml.tokens", ["<s>", "</s>", "a"])?
//!     .add_f32_tensor("output_norm.weight", &[4], &[1.0, 2.0, 3.0, 4.0])?
//!     .add_tensor("token_embd.weight", &[32, 3], GgmlType::Q8_0, vec![0u8; 3 * 34])?;
//! let bytes = w.finish();
//! let gguf = Gguf::read(&bytes)?;
//! assert_eq!(gguf.metadata.u64("llama.block_count")?, Some(2));
//! assert_eq!(gguf.tensor_data(&bytes, "token_embd.weight")?.len(), 3 * 34);
//! # Ok::<(), hearth_gguf::GgufError>(())
//! ```

use half::f16;

use crate::file::{ALIGNMENT_KEY, tensor_n_bytes};
use crate::metadata::type_id;
use crate::{DEFAULT_ALIGNMENT, GgmlType, GgufError, MAGIC, Result, TensorInfo, Value};

/// Builds a GGUF file in memory: set the version and alignment, add metadata and tensors in
/// the order they should appear, then [`finish`](GgufWriter::finish).
///
/// Tensor data is laid out in the order added, each tensor at the next multiple of the
/// alignment and padded with zeros to it (the last one too). Every `add_*`/`set_*` method
/// validates its input and returns `&mut Self` for chaining.
#[derive(Debug, Clone)]
pub struct GgufWriter {
    version: u32,
    alignment: u64,
    metadata: Vec<(String, Value)>,
    tensors: Vec<(TensorInfo, Vec<u8>)>,
}

impl Default for GgufWriter {
    fn default() -> Self {
        GgufWriter::new()
    }
}

impl GgufWriter {
    /// An empty GGUF v3 file with the default alignment (32) and no metadata.
    pub fn new() -> Self {
        GgufWriter {
            version: 3,
            alignment: DEFAULT_ALIGNMENT,
            metadata: Vec::new(),
            tensors: Vec::new(),
        }
    }

    /// Sets the format version: 2 or 3 (the layout is the same).
    pub fn set_version(&mut self, version: u32) -> Result<&mut Self> {
        if version != 2 && version != 3 {
            return Err(GgufError::UnsupportedVersion(version));
        }
        self.version = version;
        Ok(self)
    }

    /// Sets the data alignment (a non-zero power of two) and writes it as
    /// `general.alignment`, as the format requires for anything but 32.
    pub fn set_alignment(&mut self, alignment: u32) -> Result<&mut Self> {
        self.set_metadata(ALIGNMENT_KEY, alignment)
    }

    /// Appends metadata pair `key` = `value`; a key that is already present is an error
    /// ([`set_metadata`](GgufWriter::set_metadata) replaces instead). Arrays must hold
    /// elements of one non-array type.
    pub fn add_metadata(
        &mut self,
        key: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<&mut Self> {
        let key = key.into();
        if self.metadata.iter().any(|(k, _)| *k == key) {
            return Err(GgufError::DuplicateKey(key));
        }
        let value = value.into();
        self.check_value(&key, &value)?;
        self.metadata.push((key, value));
        Ok(self)
    }

    /// Sets metadata `key` to `value`: replaces it in place if present, else appends it.
    pub fn set_metadata(
        &mut self,
        key: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<&mut Self> {
        let key = key.into();
        let value = value.into();
        self.check_value(&key, &value)?;
        match self.metadata.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.metadata.push((key, value)),
        }
        Ok(self)
    }

    /// Removes metadata `key` (if present) and returns its value.
    pub fn remove_metadata(&mut self, key: &str) -> Option<Value> {
        let i = self.metadata.iter().position(|(k, _)| k == key)?;
        if key == ALIGNMENT_KEY {
            self.alignment = DEFAULT_ALIGNMENT;
        }
        Some(self.metadata.remove(i).1)
    }

    /// Checks that `value` can be written under `key`; `general.alignment` also sets the
    /// alignment.
    fn check_value(&mut self, key: &str, value: &Value) -> Result<()> {
        if let Value::Array(items) = value
            && let Some(first) = items.first()
        {
            for item in items {
                if let Value::Array(_) = item {
                    return Err(GgufError::NestedArray(key.to_string()));
                }
                if item.gguf_type() != first.gguf_type() {
                    return Err(GgufError::WrongType {
                        key: key.to_string(),
                        found: item.type_name(),
                        want: first.type_name(),
                    });
                }
            }
        }
        if key == ALIGNMENT_KEY {
            match *value {
                Value::U32(a) if a.is_power_of_two() => self.alignment = a as u64,
                Value::U32(a) => return Err(GgufError::BadAlignment(a as u64)),
                ref v => {
                    return Err(GgufError::WrongType {
                        key: key.to_string(),
                        found: v.type_name(),
                        want: "u32",
                    });
                }
            }
        }
        Ok(())
    }

    /// Appends tensor `name` of shape `dims` (ggml order: `dims[0]` is the row length) and
    /// type `ty`, whose raw encoded bytes are `data`. Errors: a duplicate name, 0 or more
    /// than 4 dims, a zero dim, a row that is not whole blocks, or a data length that does
    /// not match the shape.
    pub fn add_tensor(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        ty: GgmlType,
        data: impl Into<Vec<u8>>,
    ) -> Result<&mut Self> {
        let name = name.into();
        if self.tensors.iter().any(|(t, _)| t.name == name) {
            return Err(GgufError::DuplicateTensor(name));
        }
        let n_bytes = tensor_n_bytes(&name, dims, ty)?;
        let data = data.into();
        if data.len() as u64 != n_bytes {
            let msg = format!(
                "{} bytes of data, but shape {dims:?} of {ty:?} needs {n_bytes}",
                data.len()
            );
            return Err(GgufError::BadTensor { name, msg });
        }
        let info = TensorInfo {
            name,
            dims: dims.to_vec(),
            ty,
            offset: 0,
        };
        self.tensors.push((info, data));
        Ok(self)
    }

    /// Appends an F32 tensor holding `values` (row-major in ggml order).
    pub fn add_f32_tensor(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        values: &[f32],
    ) -> Result<&mut Self> {
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.add_tensor(name, dims, GgmlType::F32, data)
    }

    /// Appends an F16 tensor holding `values` rounded to the nearest f16.
    pub fn add_f16_tensor(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        values: &[f32],
    ) -> Result<&mut Self> {
        let data: Vec<u8> = values
            .iter()
            .flat_map(|&v| f16::from_f32(v).to_le_bytes())
            .collect();
        self.add_tensor(name, dims, GgmlType::F16, data)
    }

    /// The tensor infos as they will be written (offsets relative to the data section).
    pub fn tensor_infos(&self) -> Vec<TensorInfo> {
        let mut offset = 0u64;
        self.tensors
            .iter()
            .map(|(t, data)| {
                let info = TensorInfo {
                    offset,
                    ..t.clone()
                };
                offset += (data.len() as u64).next_multiple_of(self.alignment);
                info
            })
            .collect()
    }

    /// Encodes the file: header, metadata, tensor infos, padding, tensor data.
    pub fn finish(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.metadata.len() as u64).to_le_bytes());
        for (key, value) in &self.metadata {
            write_string(&mut out, key);
            out.extend_from_slice(&value.gguf_type().to_le_bytes());
            write_value(&mut out, value);
        }
        for t in self.tensor_infos() {
            write_string(&mut out, &t.name);
            out.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&t.ty.id().to_le_bytes());
            out.extend_from_slice(&t.offset.to_le_bytes());
        }
        if !self.tensors.is_empty() {
            let align = self.alignment as usize;
            out.resize(out.len().next_multiple_of(align), 0);
            for (_, data) in &self.tensors {
                out.extend_from_slice(data);
                out.resize(out.len().next_multiple_of(align), 0);
            }
        }
        out
    }
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Writes a value without its type id. An empty array is written as an array of u8.
fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::U8(v) => out.push(*v),
        Value::I8(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::U16(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::I16(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::U32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::I32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::F32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::Bool(v) => out.push(u8::from(*v)),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            let elem = items.first().map_or(type_id::U8, Value::gguf_type);
            out.extend_from_slice(&elem.to_le_bytes());
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for item in items {
                write_value(out, item);
            }
        }
        Value::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::I64(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::F64(v) => out.extend_from_slice(&v.to_le_bytes()),
    }
}
