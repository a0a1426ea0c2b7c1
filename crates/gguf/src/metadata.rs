//! GGUF metadata: typed key/value pairs (the header's first table).

use std::collections::BTreeMap;

use crate::cursor::Cursor;
use crate::{GgufError, Result};

/// One metadata value, with every GGUF value type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
    U64(u64),
    I64(i64),
    F64(f64),
}

/// Smallest encoded size of a value of each type id, used to bound array counts before
/// allocating (so a hostile count can never make a huge allocation).
fn min_encoded_size(ty: u32) -> Result<u64> {
    Ok(match ty {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        8 | 10..=12 => 8,
        9 => 12,
        other => return Err(GgufError::UnknownValueType(other)),
    })
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

    pub(crate) fn read(c: &mut Cursor, ty: u32, key: &str) -> Result<Value> {
        Ok(match ty {
            0 => Value::U8(c.u8(key)?),
            1 => Value::I8(c.u8(key)? as i8),
            2 => Value::U16(c.u16(key)?),
            3 => Value::I16(c.u16(key)? as i16),
            4 => Value::U32(c.u32(key)?),
            5 => Value::I32(c.u32(key)? as i32),
            6 => Value::F32(c.f32(key)?),
            7 => match c.u8(key)? {
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
            8 => Value::String(c.string(key)?),
            9 => {
                let elem = c.u32(key)?;
                if elem == 9 {
                    return Err(GgufError::NestedArray(key.to_string()));
                }
                let count = c.u64(key)?;
                let min = min_encoded_size(elem)?;
                if count.saturating_mul(min) > c.remaining() as u64 {
                    return Err(GgufError::Truncated {
                        what: format!("array {key:?} of {count} elements"),
                        needed: (c.pos() as u64).saturating_add(count.saturating_mul(min)),
                        have: (c.pos() + c.remaining()) as u64,
                    });
                }
                let mut v = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    v.push(Value::read(c, elem, key)?);
                }
                Value::Array(v)
            }
            10 => Value::U64(c.u64(key)?),
            11 => Value::I64(c.u64(key)? as i64),
            12 => Value::F64(c.f64(key)?),
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
