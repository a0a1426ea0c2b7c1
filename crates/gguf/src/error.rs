//! The one error type of the GGUF reader: every malformed input ends here, never in a panic.

use crate::GgmlType;

/// Why a GGUF file (or a part of it) could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GgufError {
    #[error("not a GGUF file (magic bytes {0:02x?}, want \"GGUF\")")]
    BadMagic([u8; 4]),
    #[error("unsupported GGUF version {0} (hearth reads versions 2 and 3)")]
    UnsupportedVersion(u32),
    #[error("GGUF truncated: {what} needs bytes up to offset {needed}, but there are only {have}")]
    Truncated {
        what: String,
        needed: u64,
        have: u64,
    },
    #[error("GGUF {what} count {count} cannot fit in a {len}-byte file")]
    AbsurdCount {
        what: &'static str,
        count: u64,
        len: u64,
    },
    #[error("GGUF string at offset {offset} is not valid UTF-8")]
    BadUtf8 { offset: u64 },
    #[error("GGUF metadata value type {0} is unknown")]
    UnknownValueType(u32),
    #[error("GGUF metadata key {0:?} appears twice")]
    DuplicateKey(String),
    #[error("GGUF arrays of arrays are not supported (key {0:?})")]
    NestedArray(String),
    #[error("GGUF alignment {0} is not a non-zero power of two")]
    BadAlignment(u64),
    #[error("GGUF tensor type {0} is unknown")]
    UnknownTensorType(u32),
    #[error("tensor {name:?}: {msg}")]
    BadTensor { name: String, msg: String },
    #[error("GGUF tensor name {0:?} appears twice")]
    DuplicateTensor(String),
    /// Split files that do not form one model (count, order, duplicates).
    #[error("split GGUF: {0}")]
    BadSplit(String),
    #[error("tensors {a:?} and {b:?} overlap in the data section")]
    OverlappingTensors { a: String, b: String },
    #[error("metadata key {0:?} is missing")]
    MissingKey(String),
    #[error("metadata key {key:?} has type {found}, want {want}")]
    WrongType {
        key: String,
        found: &'static str,
        want: &'static str,
    },
    #[error("tensor {0:?} is missing")]
    MissingTensor(String),
    #[error("{ty:?} data: {len} bytes is not a whole number of {block}-byte blocks")]
    PartialBlock {
        ty: GgmlType,
        len: usize,
        block: usize,
    },
    #[error("dequantizing {ty:?} is not supported")]
    UnsupportedType { ty: GgmlType },
    #[error(
        "{ty:?} data of {blocks} blocks dequantizes to {blocks} × {per_block} values, but the output holds {got}"
    )]
    OutputLength {
        ty: GgmlType,
        blocks: usize,
        per_block: usize,
        got: usize,
    },
    #[error("cannot allocate {blocks} × {per_block} f32 values to dequantize {ty:?} data")]
    OutputTooLarge {
        ty: GgmlType,
        blocks: usize,
        per_block: usize,
    },
}

/// Result with a [`GgufError`].
pub type Result<T, E = GgufError> = std::result::Result<T, E>;
