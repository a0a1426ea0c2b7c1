//! The GGUF container: header, metadata table, tensor table and data-section layout
//! (`docs/gguf.md` §1). Parses from a byte prefix, so the browser can read the header
//! from a Range request before it has the weights.

use std::collections::HashSet;

use crate::cursor::Cursor;
use crate::metadata::{Metadata, Value};
use crate::{GgmlType, GgufError, Result};

/// "GGUF" as the first four bytes of a file.
pub const MAGIC: [u8; 4] = *b"GGUF";
/// Alignment of the data section when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// Most dimensions a tensor may have (ggml's `GGML_MAX_DIMS`).
pub const MAX_DIMS: usize = 4;

/// One tensor-info record, validated against the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// Tensor name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Shape in ggml order: `dims[0]` is the contiguous (row) dimension.
    pub dims: Vec<u64>,
    /// Element type of the stored data.
    pub ty: GgmlType,
    /// Offset of the data from the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// Number of elements.
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
    /// Elements per row (`dims[0]`).
    pub fn cols(&self) -> u64 {
        self.dims[0]
    }
    /// Number of rows (product of all dims but the first).
    pub fn rows(&self) -> u64 {
        self.dims[1..].iter().product()
    }
    /// Bytes per row.
    pub fn row_bytes(&self) -> u64 {
        // validated at parse time: cols is a whole number of blocks
        self.ty.row_bytes(self.cols()).unwrap_or(0)
    }
    /// Bytes of the whole tensor.
    pub fn n_bytes(&self) -> u64 {
        self.row_bytes() * self.rows()
    }
}

/// A parsed GGUF header: everything before the data section.
#[derive(Debug, Clone, PartialEq)]
pub struct Gguf {
    /// Format version (2 or 3).
    pub version: u32,
    /// Metadata key/value table.
    pub metadata: Metadata,
    /// Tensor table, in file order.
    pub tensors: Vec<TensorInfo>,
    /// Alignment of the data section and of every tensor offset.
    pub alignment: u64,
    /// Absolute file offset of the data section.
    pub data_start: u64,
    /// Total file length the tensors were checked against.
    pub file_len: u64,
}

impl Gguf {
    /// Parses a whole GGUF file held in memory.
    pub fn read(bytes: &[u8]) -> Result<Gguf> {
        Gguf::read_header(bytes, bytes.len() as u64)
    }

    /// Parses the header from `prefix`, the first bytes of a file that is `file_len` bytes
    /// long, and checks that every tensor lies inside the file. When the prefix is too
    /// short, the error is [`GgufError::Truncated`] with the offset that is needed.
    pub fn read_header(prefix: &[u8], file_len: u64) -> Result<Gguf> {
        let prefix = &prefix[..prefix.len().min(usize::try_from(file_len).unwrap_or(usize::MAX))];
        let mut c = Cursor::new(prefix);
        let magic: [u8; 4] = c.take(4, "magic")?.try_into().unwrap_or_default();
        if magic != MAGIC {
            return Err(GgufError::BadMagic(magic));
        }
        let version = c.u32("version")?;
        if version != 2 && version != 3 {
            return Err(GgufError::UnsupportedVersion(version));
        }
        let n_tensors = c.u64("tensor count")?;
        let n_kv = c.u64("metadata count")?;
        // Each KV pair takes at least 13 bytes and each tensor info at least 28, so larger
        // counts cannot fit in the file: refuse them before allocating anything.
        check_count("metadata", n_kv, 13, file_len)?;
        check_count("tensor", n_tensors, 28, file_len)?;

        let mut metadata = Metadata::default();
        for _ in 0..n_kv {
            let key = c.string("metadata key")?;
            let ty = c.u32("metadata value type")?;
            let value = Value::read(&mut c, ty, &key)?;
            if metadata.0.contains_key(&key) {
                return Err(GgufError::DuplicateKey(key));
            }
            metadata.0.insert(key, value);
        }

        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(Value::U32(a)) if a.is_power_of_two() => *a as u64,
            Some(Value::U32(a)) => return Err(GgufError::BadAlignment(*a as u64)),
            Some(v) => {
                return Err(GgufError::WrongType {
                    key: "general.alignment".into(),
                    found: v.type_name(),
                    want: "u32",
                });
            }
        };

        let mut tensors = Vec::with_capacity(n_tensors as usize);
        let mut names = HashSet::new();
        for _ in 0..n_tensors {
            let t = read_tensor_info(&mut c, alignment)?;
            if !names.insert(t.name.clone()) {
                return Err(GgufError::DuplicateTensor(t.name));
            }
            tensors.push(t);
        }

        let data_start = (c.pos() as u64).next_multiple_of(alignment);
        let gguf = Gguf { version, metadata, tensors, alignment, data_start, file_len };
        gguf.check_extents()?;
        Ok(gguf)
    }

    /// Checks that tensors lie inside the file and do not overlap.
    fn check_extents(&self) -> Result<()> {
        let mut spans: Vec<(u64, u64, &str)> = Vec::with_capacity(self.tensors.len());
        for t in &self.tensors {
            let start = self.data_start.checked_add(t.offset);
            let end = start.and_then(|s| s.checked_add(t.n_bytes()));
            match (start, end) {
                (Some(s), Some(e)) if e <= self.file_len => spans.push((s, e, &t.name)),
                _ => {
                    return Err(GgufError::BadTensor {
                        name: t.name.clone(),
                        msg: format!(
                            "data at offset {} + {} bytes runs past the end of the {}-byte file",
                            t.offset,
                            t.n_bytes(),
                            self.file_len
                        ),
                    });
                }
            }
        }
        spans.sort();
        for w in spans.windows(2) {
            if w[0].1 > w[1].0 {
                return Err(GgufError::OverlappingTensors {
                    a: w[0].2.to_string(),
                    b: w[1].2.to_string(),
                });
            }
        }
        Ok(())
    }

    /// The tensor named `name`, if there is one.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Absolute file range `[start, end)` of a tensor's data.
    pub fn tensor_range(&self, t: &TensorInfo) -> std::ops::Range<u64> {
        let start = self.data_start + t.offset;
        start..start + t.n_bytes()
    }

    /// The bytes of tensor `name` inside `file` (the whole file this header was read from).
    pub fn tensor_data<'a>(&self, file: &'a [u8], name: &str) -> Result<&'a [u8]> {
        let t = self
            .tensor(name)
            .ok_or_else(|| GgufError::MissingTensor(name.to_string()))?;
        let r = self.tensor_range(t);
        file.get(r.start as usize..r.end as usize)
            .ok_or_else(|| GgufError::Truncated {
                what: format!("tensor {name:?}"),
                needed: r.end,
                have: file.len() as u64,
            })
    }
}

fn check_count(what: &'static str, count: u64, min_size: u64, len: u64) -> Result<()> {
    if count.saturating_mul(min_size) > len {
        return Err(GgufError::AbsurdCount { what, count, len });
    }
    Ok(())
}

fn read_tensor_info(c: &mut Cursor, alignment: u64) -> Result<TensorInfo> {
    let name = c.string("tensor name")?;
    let bad = |msg: String| GgufError::BadTensor { name: name.clone(), msg };
    let n_dims = c.u32("tensor dimension count")? as usize;
    if n_dims == 0 || n_dims > MAX_DIMS {
        return Err(bad(format!("{n_dims} dimensions (want 1 to {MAX_DIMS})")));
    }
    let mut dims = Vec::with_capacity(n_dims);
    for _ in 0..n_dims {
        dims.push(c.u64("tensor dimension")?);
    }
    let ty = GgmlType::from_id(c.u32("tensor type")?)?;
    let offset = c.u64("tensor offset")?;
    if dims.contains(&0) {
        return Err(bad(format!("empty dimension in shape {dims:?}")));
    }
    let n_elements = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    let row_bytes = ty.row_bytes(dims[0]).ok_or_else(|| {
        bad(format!("row of {} elements is not a whole number of {ty:?} blocks", dims[0]))
    })?;
    let rows = dims[1..].iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    let n_bytes = rows.and_then(|r| r.checked_mul(row_bytes));
    if n_elements.is_none_or(|n| n > i64::MAX as u64) || n_bytes.is_none() {
        return Err(bad(format!("shape {dims:?} overflows")));
    }
    if offset % alignment != 0 {
        return Err(bad(format!("offset {offset} is not a multiple of the alignment {alignment}")));
    }
    Ok(TensorInfo { name, dims, ty, offset })
}
