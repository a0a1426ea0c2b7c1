//! Feeds arbitrary bytes to the tokenizer (`hearth_model::tokenizer`), as text made of
//! them (invalid UTF-8 replaced by U+FFFD; valid text stays as it is). The first byte picks
//! the vocabulary:
//!
//! * always: three vocab-only GGUFs committed in `tests/fixtures/tokenizers` (llama.cpp's,
//!   MIT): `gpt-2` (byte-level BPE with llama.cpp's space clean-up), `qwen2` (byte-level
//!   BPE without it) and `llama-spm` (SentencePiece with byte fallback);
//! * when present: the real models' vocabularies in `models/` (or `$HEARTH_FUZZ_MODELS`):
//!   SmolLM2-135M-Instruct (BPE, `smollm`) and Gemma 3 270M (SentencePiece, 262,144
//!   tokens). `scripts/fetch-model all` fetches them; Gemma's vocabulary is never copied
//!   into the repository (its terms forbid redistribution).
//!
//! Encoding (special tokens parsed or not, BOS asked for or not) must succeed, give ids
//! inside the vocabulary, and decode (`decode`, `decode_raw`, the `StreamDecoder`) without
//! error, the stream equal to `decode_raw`. Where the tokenizer promises a round trip —
//! special tokens not parsed, no BOS, a vocabulary without the space clean-up, and for
//! SentencePiece text without U+2581 (its word marker, which decodes as a space), for
//! byte-level BPE text without bytes the vocabulary has no token for —
//! `decode(encode(s)) == s`.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hearth_gguf::{Gguf, GgufError};
use hearth_model::tokenizer::{Tokenizer, VocabKind};
use libfuzzer_sys::fuzz_target;

struct Vocab {
    name: String,
    tok: Tokenizer,
    /// Whether decode(encode(s)) == s is promised (no space clean-up).
    round_trips: bool,
    /// For a byte-level BPE vocabulary, the bytes it has no token for (SmolLM2 lacks some
    /// control characters): text holding them is not promised a round trip, since the
    /// encoder drops them as Hugging Face's does.
    missing_bytes: Vec<u8>,
}

/// GPT-2's byte-to-character map of byte-level BPE.
fn byte_char(b: u8) -> char {
    let shown = |b: u8| matches!(b, 33..=126 | 161..=172 | 174..=255);
    if shown(b) {
        char::from(b)
    } else {
        let n = (0..b).filter(|&x| !shown(x)).count() as u32;
        char::from_u32(256 + n).unwrap()
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The tokenizer of a GGUF file, from its header alone.
fn load(path: &Path) -> Option<Tokenizer> {
    use std::io::Read;
    let len = std::fs::metadata(path).ok()?.len();
    let mut want = 1u64 << 24;
    loop {
        let mut prefix = Vec::new();
        std::fs::File::open(path)
            .ok()?
            .take(want.min(len))
            .read_to_end(&mut prefix)
            .ok()?;
        match Gguf::read_header(&prefix, len) {
            Ok(g) => return Some(Tokenizer::from_gguf(&g.metadata).expect("a tokenizer")),
            Err(GgufError::Truncated { needed, .. }) if needed <= len && want < len => {
                want = needed.max(want * 2)
            }
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
}

fn vocabs() -> &'static [Vocab] {
    static VOCABS: OnceLock<Vec<Vocab>> = OnceLock::new();
    VOCABS.get_or_init(|| {
        let fixtures = repo().join("tests/fixtures/tokenizers");
        let models = std::env::var_os("HEARTH_FUZZ_MODELS")
            .map_or_else(|| repo().join("models"), PathBuf::from);
        let files = [
            (fixtures.join("ggml-vocab-gpt-2.gguf"), false, true),
            (fixtures.join("ggml-vocab-qwen2.gguf"), true, true),
            (fixtures.join("ggml-vocab-llama-spm.gguf"), true, true),
            (models.join("SmolLM2-135M-Instruct.Q4_1.gguf"), true, false),
            (models.join("gemma-3-270m-q4_k_m.gguf"), true, false),
        ];
        let mut out = Vec::new();
        for (path, round_trips, required) in files {
            if !required && !path.exists() {
                continue;
            }
            let tok = load(&path).unwrap_or_else(|| panic!("cannot read {}", path.display()));
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            eprintln!("tokenizer: {name} ({} tokens)", tok.vocab_size());
            let missing_bytes = match tok.kind() {
                VocabKind::Bpe => (0..=255u8)
                    .filter(|&b| tok.token_id(&byte_char(b).to_string()).is_none())
                    .collect(),
                _ => Vec::new(),
            };
            if !missing_bytes.is_empty() {
                eprintln!("tokenizer: {name} has no token for bytes {missing_bytes:?}");
            }
            out.push(Vocab {
                name,
                tok,
                round_trips,
                missing_bytes,
            });
        }
        out
    })
}

fuzz_target!(init: {
    // loading the vocabularies (Gemma's is large) is no input's time
    vocabs();
}, |data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let vocabs = vocabs();
    let v = &vocabs[usize::from(pick) % vocabs.len()];
    let text = String::from_utf8_lossy(rest);
    for (add_bos, parse_special) in [(false, false), (true, true), (false, true)] {
        let ids = v
            .tok
            .encode(&text, add_bos, parse_special)
            .unwrap_or_else(|e| panic!("{}: encode {text:?}: {e}", v.name));
        for &id in &ids {
            assert!((id as usize) < v.tok.vocab_size(), "{}: id {id}", v.name);
        }
        let decoded = v.tok.decode(&ids).expect("decode");
        let raw = v.tok.decode_raw(&ids).expect("decode_raw");
        let mut stream = v.tok.stream();
        let mut streamed = String::new();
        for &id in &ids {
            streamed.push_str(&stream.push(id).expect("stream"));
        }
        streamed.push_str(&stream.finish());
        assert_eq!(streamed, raw, "{}: streamed {text:?}", v.name);
        let promised = v.round_trips
            && !add_bos
            && !parse_special
            && !(v.tok.kind() == VocabKind::Spm && text.contains('\u{2581}'))
            && !text.bytes().any(|b| v.missing_bytes.contains(&b));
        if promised {
            assert_eq!(decoded, text, "{}: round trip of {text:?} ({ids:?})", v.name);
        }
    }
});
