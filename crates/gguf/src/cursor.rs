//! A bounds-checked little-endian reader over a byte slice: every read either succeeds or
//! returns [`GgufError::Truncated`]; nothing indexes past the end.

use crate::{GgufError, Result};

/// Reads little-endian values from `bytes` (a prefix of a file of `file_len` bytes),
/// tracking the absolute file offset.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    file_len: u64,
}

impl<'a> Cursor<'a> {
    /// A cursor at offset 0 of `bytes`, the first bytes of a `file_len`-byte file.
    pub fn new(bytes: &'a [u8], file_len: u64) -> Self {
        Cursor {
            bytes,
            pos: 0,
            file_len: file_len.max(bytes.len() as u64),
        }
    }

    /// Offset of the next byte to read.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes of the prefix left after the cursor.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// Bytes of the whole file left after the cursor (at least [`Cursor::remaining`]).
    pub fn remaining_in_file(&self) -> u64 {
        self.file_len - self.pos as u64
    }

    /// The next `n` bytes; `what` names the field for the error message.
    pub fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8]> {
        let end = (self.pos as u64).saturating_add(n);
        if end > self.bytes.len() as u64 {
            return Err(GgufError::Truncated {
                what: what.to_string(),
                needed: end,
                have: self.bytes.len() as u64,
            });
        }
        // end <= bytes.len(), so it fits in usize
        let s = &self.bytes[self.pos..end as usize];
        self.pos = end as usize;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N as u64, what)?);
        Ok(a)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }
    pub fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    pub fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    pub fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    pub fn f32(&mut self, what: &str) -> Result<f32> {
        Ok(f32::from_le_bytes(self.array(what)?))
    }
    pub fn f64(&mut self, what: &str) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }

    /// A GGUF string: u64 length, then that many UTF-8 bytes. The length is checked
    /// against the bytes present before anything is allocated.
    pub fn string(&mut self, what: &str) -> Result<String> {
        let len = self.u64(what)?;
        let offset = self.pos as u64;
        let bytes = self.take(len, what)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(GgufError::BadUtf8 { offset }),
        }
    }
}
