//! Splitting raw text around special tokens written in it, as llama.cpp's
//! `tokenizer_st_partition` does: the special tokens are tried longest first, each
//! cutting every text fragment at every occurrence. Without special parsing, control
//! and unknown tokens are left in the text; user-defined tokens are always split out.
//! A token with the lstrip (rstrip) attribute eats the ASCII whitespace before
//! (after) it.

use super::vocab::{Vocab, attr};

/// A piece of the input: raw text to tokenize, or a special token found in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fragment<'t> {
    Text(&'t str),
    Token(u32),
}

/// C's `isspace` on a byte, which llama.cpp's strip attributes use.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Splits `text` into fragments around the special tokens of `vocab`.
pub(crate) fn partition<'t>(
    vocab: &Vocab,
    text: &'t str,
    parse_special: bool,
) -> Vec<Fragment<'t>> {
    let mut frags = Vec::new();
    if !text.is_empty() {
        frags.push(Fragment::Text(text));
    }
    for &id in &vocab.special_cache {
        let a = vocab.attr(id);
        if !parse_special && a & (attr::CONTROL | attr::UNKNOWN) != 0 {
            continue;
        }
        let needle = vocab.texts[id as usize].as_str();
        if needle.is_empty()
            || !frags
                .iter()
                .any(|f| matches!(f, Fragment::Text(t) if t.contains(needle)))
        {
            continue;
        }
        let mut out = Vec::with_capacity(frags.len() + 2);
        for frag in frags {
            let Fragment::Text(mut rest) = frag else {
                out.push(frag);
                continue;
            };
            while let Some(at) = rest.find(needle) {
                let mut left = &rest[..at];
                if a & attr::LSTRIP != 0 {
                    left = left.trim_end_matches(|c: char| c.is_ascii() && is_c_space(c as u8));
                }
                if !left.is_empty() {
                    out.push(Fragment::Text(left));
                }
                out.push(Fragment::Token(id));
                rest = &rest[at + needle.len()..];
                if a & attr::RSTRIP != 0 {
                    rest = rest.trim_start_matches(|c: char| c.is_ascii() && is_c_space(c as u8));
                }
            }
            if !rest.is_empty() {
                out.push(Fragment::Text(rest));
            }
        }
        frags = out;
    }
    frags
}
