//! Streaming detokenization: token pieces are bytes, and a token may end inside a
//! UTF-8 character (byte-fallback tokens, byte-level BPE tokens). The decoder holds
//! such a tail back until the character is whole.

use super::Tokenizer;
use crate::Result;

/// Streaming detokenizer: push ids one at a time, get back only complete UTF-8 text.
///
/// The concatenation of everything `push` and `finish` return equals
/// [`Tokenizer::decode_raw`] of all the ids: pieces joined, special tokens rendered as
/// their text, no prefix-space stripping or clean-up. Invalid UTF-8 becomes U+FFFD.
#[derive(Debug, Clone)]
pub struct StreamDecoder<'a> {
    tokenizer: &'a Tokenizer,
    pending: Vec<u8>,
}

impl<'a> StreamDecoder<'a> {
    /// A decoder with nothing pending.
    pub fn new(tokenizer: &'a Tokenizer) -> Self {
        StreamDecoder {
            tokenizer,
            pending: Vec::new(),
        }
    }

    /// Adds token `id`; returns the text that became complete (possibly empty).
    /// An id outside the vocabulary is an error and changes nothing.
    pub fn push(&mut self, id: u32) -> Result<String> {
        let piece = self.tokenizer.token_piece(id)?;
        self.pending.extend_from_slice(&piece);
        Ok(self.take_complete())
    }

    /// Returns what is still pending (an unfinished character, as U+FFFD) and resets.
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }

    /// Whether bytes of an unfinished character are held back.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Takes the longest prefix of `pending` that is text, replacing invalid sequences
    /// by U+FFFD and keeping back only an unfinished character at the end.
    fn take_complete(&mut self) -> String {
        let mut out = String::new();
        let mut start = 0;
        loop {
            match std::str::from_utf8(&self.pending[start..]) {
                Ok(s) => {
                    out.push_str(s);
                    start = self.pending.len();
                    break;
                }
                Err(e) => {
                    let valid = start + e.valid_up_to();
                    // The prefix up to `valid` was just checked to be UTF-8.
                    out.push_str(&String::from_utf8_lossy(&self.pending[start..valid]));
                    match e.error_len() {
                        Some(n) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            start = valid + n;
                        }
                        None => {
                            start = valid;
                            break;
                        }
                    }
                }
            }
        }
        self.pending.drain(..start);
        out
    }
}
