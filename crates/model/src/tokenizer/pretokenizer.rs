//! Byte-level BPE pre-tokenizers, chosen by `tokenizer.ggml.pre` the way llama.cpp
//! chooses its split regexes, and built from the `tokenizers` crate's `Split`,
//! `ByteLevel` and `Sequence` pre-tokenizers. llama.cpp applies its regexes one after
//! the other, each splitting the pieces the previous one left, keeping the text
//! between matches as pieces too: that is `Split` with the `Isolated` behaviour.

use tokenizers::SplitDelimiterBehavior;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};

use super::vocab::tok_err;
use crate::Result;

/// GPT-2's split: contractions, letters, digits, other symbols, whitespace runs (the
/// `tokenizers` ByteLevel pre-tokenizer's built-in regex is the same split).
const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";

/// Contractions in either case, ASCII only (a `(?i:...)` group would also fold
/// non-ASCII letters such as U+017F into "s").
const CONTRACTIONS: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

/// The split family a pre-tokenizer name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PreFamily {
    /// llama.cpp's fallback for BPE vocabs without a known pre-tokenizer.
    Default,
    /// GPT-2's regex.
    Gpt2,
    /// Llama 3 (tiktoken style): letters with one leading non-letter, numbers in
    /// groups of up to three digits.
    Llama3,
    /// Qwen2: as Llama 3 but single digits.
    Qwen2,
    /// StarCoder / SmolLM: every digit alone, then GPT-2's regex.
    Starcoder,
    /// Falcon: punctuation runs, GPT-2's regex, three-digit groups.
    Falcon,
}

/// What a pre-tokenizer name means: its split, and the flags llama.cpp sets with it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PreSpec {
    pub family: PreFamily,
    /// Remove spaces before punctuation when detokenizing
    /// (`clean_up_tokenization_spaces`).
    pub clean_spaces: bool,
    /// A pre-tokenized word that is a whole vocabulary token is taken as is.
    pub ignore_merges: bool,
    /// Default for `add_bos_token` when the GGUF has no such key.
    pub add_bos: bool,
}

impl PreSpec {
    /// The spec of `pre` (`tokenizer.ggml.pre`; empty when absent). Names llama.cpp
    /// knows but hearth does not implement are an error, never a silent fallback.
    pub fn of(pre: &str) -> Result<PreSpec> {
        use PreFamily::*;
        // (family, clean_spaces, ignore_merges, add_bos)
        let (family, clean_spaces, ignore_merges, add_bos) = match pre {
            "" | "default" => (Default, true, false, false),
            "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral"
            | "midm-2.0" | "lfm2" => (Llama3, true, true, true),
            "dbrx" | "smaug-bpe" => (Llama3, true, false, false),
            "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es"
            | "jina-v2-de" | "a.x-4.0" | "mellum" | "mpt" | "olmo" | "jais" | "exaone4" => {
                (Gpt2, true, false, false)
            }
            "trillion" | "granite-docling" => (Gpt2, false, false, false),
            "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "hunyuan" | "solar-open" => {
                (Qwen2, false, false, false)
            }
            "stablelm2" | "megrez" => (Qwen2, true, false, false),
            "starcoder" | "refact" | "codeshell" | "exaone" | "minerva-7b" | "mellum2" => {
                (Starcoder, true, false, false)
            }
            "smollm" | "command-r" => (Starcoder, false, false, false),
            "falcon" => (Falcon, true, false, false),
            other => {
                return Err(tok_err(format!(
                    "unsupported pre-tokenizer {other:?} (tokenizer.ggml.pre)"
                )));
            }
        };
        Ok(PreSpec {
            family,
            clean_spaces,
            ignore_merges,
            add_bos,
        })
    }

    /// The `tokenizers` pre-tokenizer: the family's splits, then the byte-to-unicode
    /// mapping of byte-level BPE.
    pub fn build(&self) -> Result<PreTokenizerWrapper> {
        let llama3_like = |digits: &str| {
            format!(
                r"{CONTRACTIONS}|[^\r\n\p{{L}}\p{{N}}]?\p{{L}}+|{digits}| ?[^\s\p{{L}}\p{{N}}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
            )
        };
        let patterns: Vec<String> = match self.family {
            PreFamily::Default => vec![
                r"[\p{P}\$\+<=>\^~\|]+".into(),
                GPT2.into(),
                r"\p{N}+".into(),
                "[0-9][0-9][0-9]".into(),
            ],
            PreFamily::Gpt2 => vec![GPT2.into()],
            PreFamily::Llama3 => vec![llama3_like(r"\p{N}{1,3}")],
            PreFamily::Qwen2 => vec![llama3_like(r"\p{N}")],
            PreFamily::Starcoder => vec![r"\p{N}".into(), GPT2.into()],
            PreFamily::Falcon => vec![
                r"[\p{P}\$\+<=>\^~\|`]+".into(),
                GPT2.into(),
                "[0-9][0-9][0-9]".into(),
            ],
        };
        let mut steps = Vec::with_capacity(patterns.len() + 1);
        for p in patterns {
            let split = Split::new(
                SplitPattern::Regex(p),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .map_err(|e| tok_err(format!("pre-tokenizer regex: {e}")))?;
            steps.push(PreTokenizerWrapper::Split(split));
        }
        steps.push(PreTokenizerWrapper::ByteLevel(ByteLevel::new(
            false, false, false,
        )));
        Ok(PreTokenizerWrapper::Sequence(Sequence::new(steps)))
    }
}
