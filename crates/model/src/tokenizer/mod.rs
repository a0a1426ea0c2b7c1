//! The tokenizer, built from the GGUF's metadata alone (`tokenizer.ggml.*`) on the
//! `tokenizers` crate, and matching llama.cpp token for token:
//!
//! * `llama` vocabs: SentencePiece BPE with scores and `<0xXX>` byte fallback
//!   (`spm.rs`);
//! * `gpt2` vocabs: byte-level BPE with merges, behind the pre-tokenizer that
//!   `tokenizer.ggml.pre` names — `gpt-2`, `llama-bpe`, `qwen2`, `smollm`, ...
//!   (`bpe.rs`, `pretokenizer.rs`).
//!
//! Special tokens written in the text are split out first (`special.rs`); decoding
//! renders them as their text (`decode.rs`); a [`StreamDecoder`] holds back a token
//! that ends inside a UTF-8 character.

mod bpe;
mod decode;
mod pretokenizer;
mod special;
mod spm;
mod stream;
mod vocab;

use std::borrow::Cow;

use hearth_gguf::Metadata;

pub use stream::StreamDecoder;
pub use vocab::VocabKind;

use special::Fragment;
use vocab::{Vocab, tok_err};

use crate::Result;

/// A tokenizer for one vocabulary. Cheap to share (`Send + Sync`); encoding and
/// decoding take `&self`.
#[derive(Clone)]
pub struct Tokenizer {
    vocab: Vocab,
    /// The `tokenizers` pipeline that turns one fragment of raw text into ids.
    engine: tokenizers::Tokenizer,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("kind", &self.vocab.kind)
            .field("pre", &self.vocab.pre)
            .field("vocab_size", &self.vocab.len())
            .field("bos", &self.vocab.bos)
            .field("eos", &self.vocab.eos)
            .field("eog", &self.vocab.eog)
            .finish()
    }
}

impl Tokenizer {
    /// Builds the tokenizer from GGUF metadata (tokenizer.ggml.*).
    pub fn from_gguf(meta: &Metadata) -> Result<Tokenizer> {
        let vocab = Vocab::from_gguf(meta)?;
        let engine = match (&vocab.kind, &vocab.spec) {
            (VocabKind::Spm, _) => spm::build(&vocab)?,
            (VocabKind::Bpe, Some(spec)) => bpe::build(&vocab, spec, meta)?,
            (VocabKind::Bpe, None) => return Err(tok_err("BPE vocab without a pre-tokenizer")),
        };
        Ok(Tokenizer { vocab, engine })
    }

    /// Encodes text like llama.cpp's `llama_tokenize`. `add_bos` is llama.cpp's
    /// `add_special`: BOS is added only if the GGUF's add_bos_token says so (default:
    /// true for SentencePiece and Llama 3, false for other BPE vocabs), and EOS too if
    /// add_eos_token says so. `parse_special` recognises control tokens written in the
    /// text (e.g. "<|im_start|>"); user-defined tokens are recognised either way.
    pub fn encode(&self, text: &str, add_bos: bool, parse_special: bool) -> Result<Vec<u32>> {
        let mut ids = Vec::with_capacity(text.len() / 3 + 2);
        if add_bos && self.vocab.add_bos {
            ids.push(
                self.vocab
                    .bos
                    .ok_or_else(|| tok_err("the GGUF asks for BOS but has no BOS token"))?,
            );
        }
        // SentencePiece prefixes a space to text at the start or after a special token
        // (BPE vocabs never do, whatever add_space_prefix says: only decoding reads it).
        let prefix_space = self.vocab.kind == VocabKind::Spm && self.vocab.add_space_prefix;
        let mut after_special = true;
        for frag in special::partition(&self.vocab, text, parse_special) {
            match frag {
                Fragment::Token(id) => {
                    ids.push(id);
                    after_special = true;
                }
                Fragment::Text(t) => {
                    let prefixed;
                    let t = if prefix_space && after_special {
                        prefixed = format!(" {t}");
                        prefixed.as_str()
                    } else {
                        t
                    };
                    let enc = self
                        .engine
                        .encode_fast(t, false)
                        .map_err(|e| tok_err(format!("encoding failed: {e}")))?;
                    ids.extend_from_slice(enc.get_ids());
                    after_special = false;
                }
            }
        }
        if add_bos && self.vocab.add_eos {
            ids.push(
                self.vocab
                    .eos
                    .ok_or_else(|| tok_err("the GGUF asks for EOS but has no EOS token"))?,
            );
        }
        Ok(ids)
    }

    /// Decodes ids to text like llama.cpp's `llama_detokenize(remove_special = false,
    /// unparse_special = true)`: special tokens are rendered as their text (BOS too),
    /// SentencePiece's prefix space is removed from the first token, and vocabs that
    /// ask for it (GPT-2, Llama 3) get llama.cpp's punctuation-space clean-up. Invalid
    /// UTF-8 becomes U+FFFD. For streaming output use [`StreamDecoder`] (equal to
    /// [`Tokenizer::decode_raw`]).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        let mut bytes = Vec::with_capacity(ids.len() * 4);
        for (i, &id) in ids.iter().enumerate() {
            let piece = self.token_piece(id)?;
            let piece = match piece.strip_prefix(b" ") {
                Some(rest) if i == 0 && self.vocab.add_space_prefix => rest,
                _ => &piece[..],
            };
            bytes.extend_from_slice(piece);
        }
        if self.vocab.clean_spaces {
            bytes = decode::clean_spaces(&bytes);
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The pieces of `ids` joined, with nothing removed or cleaned up: what a
    /// [`StreamDecoder`] emits for them. Invalid UTF-8 becomes U+FFFD.
    pub fn decode_raw(&self, ids: &[u32]) -> Result<String> {
        let mut bytes = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            bytes.extend_from_slice(&self.token_piece(id)?);
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The bytes token `id` renders to (llama.cpp's `token_to_piece` with
    /// special = true); may be part of a UTF-8 character.
    pub fn token_piece(&self, id: u32) -> Result<Cow<'_, [u8]>> {
        self.check(id)?;
        Ok(decode::piece(&self.vocab, id))
    }

    /// A streaming decoder over this tokenizer.
    pub fn stream(&self) -> StreamDecoder<'_> {
        StreamDecoder::new(self)
    }

    /// The number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// The beginning-of-sequence token, if any.
    pub fn bos_id(&self) -> Option<u32> {
        self.vocab.bos
    }

    /// The end-of-sequence token, if any.
    pub fn eos_id(&self) -> Option<u32> {
        self.vocab.eos
    }

    /// End-of-generation ids (sorted): EOS, EOT, EOM, every token whose text is a
    /// known end marker (`<|im_end|>`, `<|eot_id|>`, `<|end|>`, `<|endoftext|>`, `</s>`,
    /// ...) and the FIM pad/repo/separator tokens, as llama.cpp decides them.
    pub fn eog_ids(&self) -> &[u32] {
        &self.vocab.eog
    }

    /// Whether `id` ends generation.
    pub fn is_eog(&self, id: u32) -> bool {
        self.vocab.eog.binary_search(&id).is_ok()
    }

    /// Whether `id` is a control token (BOS, EOS, chat markers) or unknown/unused: one that
    /// renders as its name, not as text a grammar could match.
    pub fn is_control(&self, id: u32) -> bool {
        use vocab::attr;
        (id as usize) < self.vocab.len()
            && self.vocab.attr(id) & (attr::CONTROL | attr::UNKNOWN | attr::UNUSED) != 0
    }

    /// The vocabulary text of a token (e.g. for the chat template's bos_token).
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.vocab.texts.get(id as usize).map(String::as_str)
    }

    /// The id whose vocabulary text is exactly `text`, if any.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.engine.token_to_id(text)
    }

    /// Whether the GGUF asks for a BOS token at the start of a prompt.
    pub fn add_bos(&self) -> bool {
        self.vocab.add_bos
    }

    /// Whether the GGUF asks for an EOS token at the end of a prompt.
    pub fn add_eos(&self) -> bool {
        self.vocab.add_eos
    }

    /// The tokenization algorithm of the vocabulary.
    pub fn kind(&self) -> VocabKind {
        self.vocab.kind
    }

    /// `tokenizer.ggml.pre` (empty when the GGUF has none).
    pub fn pre(&self) -> &str {
        &self.vocab.pre
    }

    fn check(&self, id: u32) -> Result<()> {
        if (id as usize) < self.vocab.len() {
            Ok(())
        } else {
            Err(tok_err(format!(
                "token id {id} out of range (vocabulary of {})",
                self.vocab.len()
            )))
        }
    }
}
