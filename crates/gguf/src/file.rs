//! The GGUF container: header, metadata table, tensor table and data-section layout
//! (`docs/gguf.md` §1). Parses from a byte prefix, so the browser can read the header
//! from a Range request before it has the weights.

use std::collections::HashSet;

use crate::cursor::Cursor;
use crate::metadata::{Metadata, Value, read_kv};
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
    /// Number of elements (saturating; exact for every tensor the reader accepted).
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().fold(1u64, |a, &d| a.saturating_mul(d))
    }
    /// Elements per row (`dims[0]`).
    pub fn cols(&self) -> u64 {
        self.dims.first().copied().unwrap_or(1)
    }
    /// Number of rows (product of all dims but the first).
    pub fn rows(&self) -> u64 {
        self.dims
            .iter()
            .skip(1)
            .fold(1u64, |a, &d| a.saturating_mul(d))
    }
    /// Bytes per row (0 if `cols` is not a whole number of blocks, which the reader rejects).
    pub fn row_bytes(&self) -> u64 {
        row_bytes(self.ty, self.cols()).unwrap_or(0)
    }
    /// Bytes of the whole tensor (saturating; exact for every tensor the reader accepted).
    pub fn n_bytes(&self) -> u64 {
        self.row_bytes().saturating_mul(self.rows())
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
    ///
    /// A `Truncated` error whose `needed` is at most `file_len` asks for a longer prefix;
    /// one beyond `file_len` means the file itself is cut short or corrupt.
    pub fn read_header(prefix: &[u8], file_len: u64) -> Result<Gguf> {
        let prefix = &prefix[..prefix
            .len()
            .min(usize::try_from(file_len).unwrap_or(usize::MAX))];
        let mut c = Cursor::new(prefix, file_len);
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
        // Each KV pair takes at least 13 bytes and each tensor info at least 32, so larger
        // counts cannot fit in the file: refuse them before allocating anything.
        let room = c.remaining_in_file();
        check_count("metadata", n_kv, MIN_KV_BYTES, room, file_len)?;
        check_count("tensor", n_tensors, MIN_TENSOR_INFO_BYTES, room, file_len)?;

        let mut metadata = Metadata::default();
        for _ in 0..n_kv {
            let (key, value) = read_kv(&mut c)?;
            if metadata.0.contains_key(&key) {
                return Err(GgufError::DuplicateKey(key));
            }
            metadata.0.insert(key, value);
        }

        let alignment = match metadata.get(ALIGNMENT_KEY) {
            None => DEFAULT_ALIGNMENT,
            Some(Value::U32(a)) if a.is_power_of_two() => *a as u64,
            Some(Value::U32(a)) => return Err(GgufError::BadAlignment(*a as u64)),
            Some(v) => {
                return Err(GgufError::WrongType {
                    key: ALIGNMENT_KEY.into(),
                    found: v.type_name(),
                    want: "u32",
                });
            }
        };

        // Only reserve what the bytes at hand can hold: the count may still be too large
        // for a short prefix, and the loop then stops with `Truncated`.
        let fits = c.remaining() as u64 / MIN_TENSOR_INFO_BYTES;
        let mut tensors = Vec::with_capacity(n_tensors.min(fits) as usize);
        let mut names = HashSet::new();
        for _ in 0..n_tensors {
            let t = read_tensor_info(&mut c, alignment)?;
            if !names.insert(t.name.clone()) {
                return Err(GgufError::DuplicateTensor(t.name));
            }
            tensors.push(t);
        }

        let data_start = (c.pos() as u64).next_multiple_of(alignment);
        let gguf = Gguf {
            version,
            metadata,
            tensors,
            alignment,
            data_start,
            file_len,
        };
        gguf.check_extents()?;
        Ok(gguf)
    }

    /// Checks that tensors lie inside the file and do not overlap.
    fn check_extents(&self) -> Result<()> {
        let mut spans: Vec<(u64, u64, &str)> = Vec::with_capacity(self.tensors.len());
        for t in &self.tensors {
            let start = self.data_start.checked_add(t.offset);
            let end = start.and_then(|s| s.checked_add(t.n_bytes()));
            match end {
                Some(e) if e <= self.file_len => spans.push((e - t.n_bytes(), e, &t.name)),
                _ => {
                    return Err(GgufError::BadTensor {
                        name: t.name.clone(),
                        msg: format!(
                            "{} bytes of data at offset {} (file offset {}) run past the end \
                             of the {}-byte file",
                            t.n_bytes(),
                            t.offset,
                            self.data_start as u128 + t.offset as u128,
                            self.file_len
                        ),
                    });
                }
            }
        }
        spans.sort_unstable();
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

    /// Absolute file range `[start, end)` of a tensor's data (saturating for a tensor
    /// that did not come from this file).
    pub fn tensor_range(&self, t: &TensorInfo) -> std::ops::Range<u64> {
        let start = self.data_start.saturating_add(t.offset);
        start..start.saturating_add(t.n_bytes())
    }

    /// The bytes of tensor `name` inside `file` (the whole file this header was read from).
    pub fn tensor_data<'a>(&self, file: &'a [u8], name: &str) -> Result<&'a [u8]> {
        let t = self
            .tensor(name)
            .ok_or_else(|| GgufError::MissingTensor(name.to_string()))?;
        self.tensor_bytes(file, t)
    }

    /// The bytes of tensor `t` inside `file`, without looking it up by name.
    pub fn tensor_bytes<'a>(&self, file: &'a [u8], t: &TensorInfo) -> Result<&'a [u8]> {
        let r = self.tensor_range(t);
        // try_from, not `as`: on wasm32 an offset past 4 GiB must not wrap around
        let range = usize::try_from(r.start)
            .ok()
            .zip(usize::try_from(r.end).ok());
        range
            .and_then(|(s, e)| file.get(s..e))
            .ok_or_else(|| GgufError::Truncated {
                what: format!("data of tensor {:?}", t.name),
                needed: r.end,
                have: file.len() as u64,
            })
    }
}

/// Key of the data alignment in the metadata table.
pub(crate) const ALIGNMENT_KEY: &str = "general.alignment";
/// Smallest encoded metadata pair: empty key (8), value type (4), one-byte value (1).
const MIN_KV_BYTES: u64 = 13;
/// Smallest encoded tensor info: empty name (8), n_dims (4), one dim (8), type (4),
/// offset (8).
const MIN_TENSOR_INFO_BYTES: u64 = 32;

/// `count` items of at least `min_size` bytes each must fit in the `room` bytes left in a
/// `file_len`-byte file.
fn check_count(
    what: &'static str,
    count: u64,
    min_size: u64,
    room: u64,
    file_len: u64,
) -> Result<()> {
    if count.saturating_mul(min_size) > room {
        return Err(GgufError::AbsurdCount {
            what,
            count,
            len: file_len,
        });
    }
    Ok(())
}

fn read_tensor_info(c: &mut Cursor, alignment: u64) -> Result<TensorInfo> {
    let name = c.string("tensor name")?;
    let (dims, ty, offset) = read_tensor_fields(c).map_err(|e| match e {
        GgufError::Truncated { what, needed, have } => GgufError::Truncated {
            what: format!("{what} of tensor {name:?}"),
            needed,
            have,
        },
        GgufError::BadTensor { msg, .. } => GgufError::BadTensor {
            name: name.clone(),
            msg,
        },
        e => e,
    })?;
    tensor_n_bytes(&name, &dims, ty)?;
    if offset % alignment != 0 {
        return Err(GgufError::BadTensor {
            name,
            msg: format!("offset {offset} is not a multiple of the alignment {alignment}"),
        });
    }
    Ok(TensorInfo {
        name,
        dims,
        ty,
        offset,
    })
}

/// Bytes of a row of `n` elements of `ty`: `None` when `n` is not whole blocks, and
/// saturating at `u64::MAX`.
fn row_bytes(ty: GgmlType, n: u64) -> Option<u64> {
    let block = ty.block_elems() as u64;
    n.is_multiple_of(block)
        .then(|| (n / block).saturating_mul(ty.block_bytes() as u64))
}

/// Checks a tensor's shape (1 to 4 dims, none zero, whole blocks per row, element count
/// and byte size in range) and returns its size in bytes.
pub(crate) fn tensor_n_bytes(name: &str, dims: &[u64], ty: GgmlType) -> Result<u64> {
    let bad = |msg: String| GgufError::BadTensor {
        name: name.to_string(),
        msg,
    };
    if dims.is_empty() || dims.len() > MAX_DIMS {
        return Err(bad(format!(
            "{} dimensions (want 1 to {MAX_DIMS})",
            dims.len()
        )));
    }
    if dims.contains(&0) {
        return Err(bad(format!("empty dimension in shape {dims:?}")));
    }
    let n_elements = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    if n_elements.is_none_or(|n| n > i64::MAX as u64) {
        return Err(bad(format!("element count of shape {dims:?} overflows")));
    }
    let row = row_bytes(ty, dims[0]).ok_or_else(|| {
        let block = ty.block_elems();
        bad(format!(
            "row of {} elements is not a whole number of {ty:?} blocks of {block}",
            dims[0]
        ))
    })?;
    dims[1..]
        .iter()
        .try_fold(row, |a, &d| a.checked_mul(d))
        .filter(|&n| n < u64::MAX)
        .ok_or_else(|| bad(format!("byte size of shape {dims:?} overflows")))
}

/// The fields after a tensor's name: dims (1 to [`MAX_DIMS`]), type, offset.
fn read_tensor_fields(c: &mut Cursor) -> Result<(Vec<u64>, GgmlType, u64)> {
    let n_dims = c.u32("dimension count")?;
    if n_dims == 0 || n_dims as usize > MAX_DIMS {
        return Err(GgufError::BadTensor {
            name: String::new(),
            msg: format!("{n_dims} dimensions (want 1 to {MAX_DIMS})"),
        });
    }
    let mut dims = Vec::with_capacity(n_dims as usize);
    for _ in 0..n_dims {
        dims.push(c.u64("dimension")?);
    }
    let ty = GgmlType::from_id(c.u32("type")?)?;
    let offset = c.u64("offset")?;
    Ok((dims, ty, offset))
}
