//! GGUF metadata: typed key/value pairs (the header's first table).

use std::collections::BTreeMap;

use crate::cursor::Cursor;
use crate::{GgufError, Result};

/// One metadata value, with every GGUF value type. Scalars, strings and vectors or
/// arrays of them convert with `Value::from` / `.into()`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Type 0, UINT8.
    U8(u8),
    /// Type 1, INT8.
    I8(i8),
    /// Type 2, UINT16.
    U16(u16),
    /// Type 3, INT16.
    I16(i16),
    /// Type 4, UINT32.
    U32(u32),
    /// Type 5, INT32.
    I32(i32),
    /// Type 6, FLOAT32.
    F32(f32),
    /// Type 7, BOOL (one byte, 0 or 1).
    Bool(bool),
    /// Type 8, STRING (UTF-8).
    String(String),
    /// Type 9, ARRAY: elements all of one non-array type (an empty array's element
    /// type is not kept).
    Array(Vec<Value>),
    /// Type 10, UINT64.
    U64(u64),
    /// Type 11, INT64.
    I64(i64),
    /// Type 12, FLOAT64.
    F64(f64),
}

/// GGUF metadata value type ids (`docs/gguf.md` §1.2).
pub(crate) mod type_id {
    pub const U8: u32 = 0;
    pub const I8: u32 = 1;
    pub const U16: u32 = 2;
    pub const I16: u32 = 3;
    pub const U32: u32 = 4;
    pub const I32: u32 = 5;
    pub const F32: u32 = 6;
    pub const BOOL: u32 = 7;
    pub const STRING: u32 = 8;
    pub const ARRAY: u32 = 9;
    pub const U64: u32 = 10;
    pub const I64: u32 = 11;
    pub const F64: u32 = 12;
}

/// Smallest encoded size of a value of each type id, used to bound array counts before
/// allocating (so a hostile count can never make a huge allocation).
fn min_encoded_size(ty: u32) -> Result<u64> {
    use type_id::*;
    Ok(match ty {
        U8 | I8 | BOOL => 1,
        U16 | I16 => 2,
        U32 | I32 | F32 => 4,
        STRING | U64 | I64 | F64 => 8,
        ARRAY => 12,
        other => return Err(GgufError::UnknownValueType(other)),
    })
}

/// The GGUF name of value type `ty` (a known, non-array type).
fn type_name(ty: u32) -> &'static str {
    use type_id::*;
    match ty {
        U8 => "u8",
        I8 => "i8",
        U16 => "u16",
        I16 => "i16",
        U32 => "u32",
        I32 => "i32",
        F32 => "f32",
        BOOL => "bool",
        STRING => "string",
        U64 => "u64",
        I64 => "i64",
        F64 => "f64",
        _ => "array",
    }
}

/// Reads one metadata key/value pair: key string, value type, value.
pub(crate) fn read_kv(c: &mut Cursor) -> Result<(String, Value)> {
    let key = c.string("metadata key")?;
    let value = c
        .u32("metadata value type")
        .and_then(|ty| Value::read(c, ty, &key))
        .map_err(|e| match e {
            GgufError::Truncated { what, needed, have } => GgufError::Truncated {
                what: format!("{what} of metadata key {key:?}"),
                needed,
                have,
            },
            e => e,
        })?;
    Ok((key, value))
}

impl Value {
    /// The GGUF name of this value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::U8(_) => "u8",
            Value::I8(_) => "i8",
            Value::U16(_) => "u16",
            Value::I16(_) => "i16",
            Value::U32(_) => "u32",
            Value::I32(_) => "i32",
            Value::F32(_) => "f32",
            Value::Bool(_) => "bool",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::U64(_) => "u64",
            Value::I64(_) => "i64",
            Value::F64(_) => "f64",
        }
    }

    /// The GGUF value type id of this value (0 = u8 … 12 = f64, 9 = array).
    pub fn gguf_type(&self) -> u32 {
        use type_id::*;
        match self {
            Value::U8(_) => U8,
            Value::I8(_) => I8,
            Value::U16(_) => U16,
            Value::I16(_) => I16,
            Value::U32(_) => U32,
            Value::I32(_) => I32,
            Value::F32(_) => F32,
            Value::Bool(_) => BOOL,
            Value::String(_) => STRING,
            Value::Array(_) => ARRAY,
            Value::U64(_) => U64,
            Value::I64(_) => I64,
            Value::F64(_) => F64,
        }
    }

    /// Reads a value of type `ty`; `key` is only used in error messages.
    pub(crate) fn read(c: &mut Cursor, ty: u32, key: &str) -> Result<Value> {
        use type_id::*;
        Ok(match ty {
            U8 => Value::U8(c.u8("u8 value")?),
            I8 => Value::I8(c.u8("i8 value")? as i8),
            U16 => Value::U16(c.u16("u16 value")?),
            I16 => Value::I16(c.u16("i16 value")? as i16),
            U32 => Value::U32(c.u32("u32 value")?),
            I32 => Value::I32(c.u32("i32 value")? as i32),
            F32 => Value::F32(c.f32("f32 value")?),
            BOOL => match c.u8("bool value")? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                _ => {
                    return Err(GgufError::WrongType {
                        key: key.to_string(),
                        found: "byte other than 0 or 1",
                        want: "bool",
                    });
                }
            },
            STRING => Value::String(c.string("string value")?),
            ARRAY => {
                let elem = c.u32("array element type")?;
                if elem == ARRAY {
                    return Err(GgufError::NestedArray(key.to_string()));
                }
                let min = min_encoded_size(elem)?;
                let count = c.u64("array length")?;
                // Check the count against the bytes at hand before allocating: a hostile
                // count then fails here instead of reserving memory for it.
                let needed = count.saturating_mul(min);
                if needed > c.remaining() as u64 {
                    return Err(GgufError::Truncated {
                        what: format!("array of {count} {} elements", type_name(elem)),
                        needed: (c.pos() as u64).saturating_add(needed),
                        have: (c.pos() + c.remaining()) as u64,
                    });
                }
                // count <= remaining bytes, so this allocation is bounded by the input
                let mut v = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    v.push(Value::read(c, elem, key)?);
                }
                Value::Array(v)
            }
            U64 => Value::U64(c.u64("u64 value")?),
            I64 => Value::I64(c.u64("i64 value")? as i64),
            F64 => Value::F64(c.f64("f64 value")?),
            other => return Err(GgufError::UnknownValueType(other)),
        })
    }

    /// The value as an unsigned integer, if it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v as u64),
            Value::U16(v) => Some(v as u64),
            Value::U32(v) => Some(v as u64),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a signed integer, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::I8(v) => Some(v as i64),
            Value::I16(v) => Some(v as i64),
            Value::I32(v) => Some(v as i64),
            Value::I64(v) => Some(v),
            _ => self.as_u64().and_then(|v| i64::try_from(v).ok()),
        }
    }

    /// The value as a float, if it is a float (f32 or f64).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v as f64),
            Value::F64(v) => Some(v),
            _ => None,
        }
    }

    /// The value as a string slice, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a bool, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The elements, if the value is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// The metadata table, keyed by name (sorted, for stable printing).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata(pub BTreeMap<String, Value>);

impl Metadata {
    /// The raw value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    fn typed<'a, T>(
        &'a self,
        key: &str,
        want: &'static str,
        f: impl Fn(&'a Value) -> Option<T>,
    ) -> Result<Option<T>> {
        match self.0.get(key) {
            None => Ok(None),
            Some(v) => f(v).map(Some).ok_or_else(|| GgufError::WrongType {
                key: key.to_string(),
                found: v.type_name(),
                want,
            }),
        }
    }

    /// An optional unsigned integer; present with another type is an error.
    pub fn u64(&self, key: &str) -> Result<Option<u64>> {
        self.typed(key, "unsigned integer", Value::as_u64)
    }

    /// An optional float (f32 or f64).
    pub fn f64(&self, key: &str) -> Result<Option<f64>> {
        self.typed(key, "float", Value::as_f64)
    }

    /// An optional string.
    pub fn str(&self, key: &str) -> Result<Option<&str>> {
        self.typed(key, "string", Value::as_str)
    }

    /// An optional bool.
    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        self.typed(key, "bool", Value::as_bool)
    }

    /// An optional array.
    pub fn array(&self, key: &str) -> Result<Option<&[Value]>> {
        self.typed(key, "array", Value::as_array)
    }

    /// A required unsigned integer.
    pub fn req_u64(&self, key: &str) -> Result<u64> {
        self.u64(key)?
            .ok_or_else(|| GgufError::MissingKey(key.to_string()))
    }

    /// An optional array of strings.
    pub fn strings(&self, key: &str) -> Result<Option<Vec<&str>>> {
        self.array_of(key, "array of strings", Value::as_str)
    }

    /// An optional array of numbers read as f32 (float arrays).
    pub fn f32s(&self, key: &str) -> Result<Option<Vec<f32>>> {
        self.array_of(key, "array of floats", |v| v.as_f64().map(|x| x as f32))
    }

    /// An optional array of integers.
    pub fn i64s(&self, key: &str) -> Result<Option<Vec<i64>>> {
        self.array_of(key, "array of integers", Value::as_i64)
    }

    fn array_of<'a, T>(
        &'a self,
        key: &str,
        want: &'static str,
        f: impl Fn(&'a Value) -> Option<T>,
    ) -> Result<Option<Vec<T>>> {
        let Some(a) = self.array(key)? else {
            return Ok(None);
        };
        a.iter()
            .map(|v| {
                f(v).ok_or_else(|| GgufError::WrongType {
                    key: key.to_string(),
                    found: v.type_name(),
                    want,
                })
            })
            .collect::<Result<Vec<T>>>()
            .map(Some)
    }
}

macro_rules! value_from {
    ($($t:ty => $v:ident),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(x: $t) -> Value {
                Value::$v(x)
            }
        })*
    };
}
value_from!(
    u8 => U8, i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32, f32 => F32,
    bool => Bool, String => String, u64 => U64, i64 => I64, f64 => F64,
);

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Value {
        Value::Array(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Value> + Clone> From<&[T]> for Value {
    fn from(v: &[T]) -> Value {
        Value::Array(v.iter().cloned().map(Into::into).collect())
    }
}

impl<T: Into<Value>, const N: usize> From<[T; N]> for Value {
    fn from(v: [T; N]) -> Value {
        Value::Array(v.into_iter().map(Into::into).collect())
    }
}
