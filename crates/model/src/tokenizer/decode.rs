//! Token ids back to bytes, as llama.cpp's `token_to_piece` (special tokens rendered
//! as their text) and `detokenize` do.

use std::borrow::Cow;

use super::spm::SPACE;
use super::vocab::{Vocab, VocabKind, attr};

/// The byte a byte-level BPE character stands for (GPT-2's byte-to-unicode mapping:
/// printable Latin-1 bytes are themselves, the 68 others are U+0100 onwards in order).
fn byte_level_byte(c: char) -> Option<u8> {
    let c = c as u32;
    match c {
        0x21..=0x7e | 0xa1..=0xac | 0xae..=0xff => Some(c as u8),
        0x100..=0x120 => Some((c - 0x100) as u8),
        0x121..=0x142 => Some((c - 0x121 + 0x7f) as u8),
        0x143 => Some(0xad),
        _ => None,
    }
}

/// The bytes of a byte-level BPE token's text; a text with a character outside the
/// mapping is taken as plain UTF-8.
fn byte_level_bytes(text: &str) -> Cow<'_, [u8]> {
    match text
        .chars()
        .map(byte_level_byte)
        .collect::<Option<Vec<u8>>>()
    {
        Some(bytes) => Cow::Owned(bytes),
        None => Cow::Borrowed(text.as_bytes()),
    }
}

/// The byte of a `<0xXX>` byte token.
fn hex_byte(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    u8::from_str_radix(hex, 16).ok()
}

/// What token `id` (in range) renders to: control, unknown and user-defined tokens as
/// their text, normal tokens unescaped, byte tokens as their byte, others as nothing.
pub(crate) fn piece(vocab: &Vocab, id: u32) -> Cow<'_, [u8]> {
    let text = vocab.texts[id as usize].as_str();
    let a = vocab.attr(id);
    if a & (attr::CONTROL | attr::UNKNOWN | attr::USER_DEFINED) != 0 {
        Cow::Borrowed(text.as_bytes())
    } else if a & attr::NORMAL != 0 {
        match vocab.kind {
            VocabKind::Spm if text.contains(SPACE) => {
                Cow::Owned(text.replace(SPACE, " ").into_bytes())
            }
            VocabKind::Spm => Cow::Borrowed(text.as_bytes()),
            VocabKind::Bpe => byte_level_bytes(text),
        }
    } else if a & attr::BYTE != 0 {
        Cow::Owned(hex_byte(text).map(|b| vec![b]).unwrap_or_default())
    } else {
        Cow::Borrowed(&[])
    }
}

/// llama.cpp's `clean_up_tokenization_spaces`: drops the space before `?`, `!`, `.`
/// and `,`, the spaces around a lone `'`, and the space before `'s`, `'m`, `'re` and
/// `'ve`.
pub(crate) fn clean_spaces(text: &[u8]) -> Vec<u8> {
    // Before ? ! . ,
    let mut a = Vec::with_capacity(text.len());
    for (i, &x) in text.iter().enumerate() {
        if i > 0 && text[i - 1] == b' ' && matches!(x, b'?' | b'!' | b'.' | b',') {
            a.pop();
        }
        a.push(x);
    }
    // " ' " becomes "'".
    let mut b = Vec::with_capacity(a.len());
    let mut i = 0;
    let mut prev_eaten = false;
    while i < a.len() {
        let x = a[i];
        if i > 0
            && !prev_eaten
            && x == b'\''
            && i + 1 < a.len()
            && a[i - 1] == b' '
            && a[i + 1] == b' '
        {
            b.pop();
            b.push(x);
            i += 2;
            prev_eaten = true;
            continue;
        }
        prev_eaten = false;
        b.push(x);
        i += 1;
    }
    // Contractions: " 's", " 'm", " 're", " 've" lose their space.
    let mut c = Vec::with_capacity(b.len());
    for (i, &x) in b.iter().enumerate() {
        if i > 0 && b[i - 1] == b' ' && x == b'\'' && i + 1 < b.len() {
            let x1 = b[i + 1];
            let x2 = b.get(i + 2).copied();
            let drop = matches!(x1, b's' | b'm')
                || matches!((x1, x2), (b'r', Some(b'e')) | (b'v', Some(b'e')));
            if drop {
                c.pop();
            }
        }
        c.push(x);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_mapping_is_a_bijection() {
        let mut seen = [false; 256];
        for c in (0u32..0x200).filter_map(char::from_u32) {
            if let Some(b) = byte_level_byte(c) {
                assert!(!seen[b as usize], "byte {b:#x} mapped twice");
                seen[b as usize] = true;
            }
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(byte_level_byte('Ġ'), Some(b' '));
        assert_eq!(byte_level_byte('Ċ'), Some(b'\n'));
        assert_eq!(byte_level_byte('ĉ'), Some(b'\t'));
    }

    #[test]
    fn clean_spaces_like_llama_cpp() {
        let clean = |s: &str| String::from_utf8(clean_spaces(s.as_bytes())).unwrap();
        assert_eq!(clean("Hello , world !"), "Hello, world!");
        assert_eq!(clean("a ' b"), "a'b");
        assert_eq!(
            clean("it 's I 'm we 're you 've they 'll I 'd don 't"),
            "it's I'm we're you've they 'll I 'd don 't"
        );
        assert_eq!(clean(" ."), ".");
        assert_eq!(clean(""), "");
    }
}
