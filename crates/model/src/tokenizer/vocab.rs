//! The vocabulary as llama.cpp reads it from GGUF metadata (`tokenizer.ggml.*`): token
//! texts, scores and attributes, the special ids, the BOS/EOS flags and the set of
//! end-of-generation tokens, with llama.cpp's text-based fix-ups applied.

use hearth_gguf::Metadata;

use super::pretokenizer::PreSpec;
use crate::{ModelError, Result};

/// Token attribute bits (llama.cpp's `llama_token_attr`).
pub(crate) mod attr {
    pub const UNDEFINED: u32 = 0;
    pub const UNKNOWN: u32 = 1 << 0;
    pub const UNUSED: u32 = 1 << 1;
    pub const NORMAL: u32 = 1 << 2;
    pub const CONTROL: u32 = 1 << 3;
    pub const USER_DEFINED: u32 = 1 << 4;
    pub const BYTE: u32 = 1 << 5;
    pub const LSTRIP: u32 = 1 << 7;
    pub const RSTRIP: u32 = 1 << 8;
}

/// Which tokenization algorithm the vocabulary uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VocabKind {
    /// `tokenizer.ggml.model = "llama"`: SentencePiece BPE with scores and byte fallback.
    Spm,
    /// `tokenizer.ggml.model = "gpt2"`: byte-level BPE with merges and a pre-tokenizer.
    Bpe,
}

/// Texts whose token ends generation (llama.cpp's list, matched on the token text).
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];

/// Fill-in-the-middle tokens that llama.cpp also treats as end of generation.
const FIM_PAD_TEXTS: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
const FIM_REP_TEXTS: &[&str] = &[
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
];
const FIM_SEP_TEXTS: &[&str] = &["<|file_sep|>"];

/// The vocabulary and its special-token bookkeeping.
#[derive(Debug, Clone)]
pub(crate) struct Vocab {
    pub kind: VocabKind,
    /// `tokenizer.ggml.pre` (empty when absent).
    pub pre: String,
    pub texts: Vec<String>,
    pub scores: Vec<f32>,
    pub attrs: Vec<u32>,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub unk: Option<u32>,
    pub add_bos: bool,
    pub add_eos: bool,
    pub add_space_prefix: bool,
    /// Remove spaces before punctuation when detokenizing.
    pub clean_spaces: bool,
    /// The pre-tokenizer of a BPE vocab (`None` for SentencePiece).
    pub spec: Option<PreSpec>,
    /// End-of-generation ids, sorted.
    pub eog: Vec<u32>,
    /// Control, user-defined and unknown tokens, longest text first: the tokens that
    /// the special-token splitter looks for in raw text.
    pub special_cache: Vec<u32>,
}

/// Reads an optional token id key; ids outside the vocabulary are ignored (with the
/// default kept), as llama.cpp does.
fn id_key(meta: &Metadata, key: &str, default: Option<u32>, n: usize) -> Result<Option<u32>> {
    let default = default.filter(|&d| (d as usize) < n);
    Ok(match meta.u64(key)? {
        Some(v) if v < n as u64 => Some(v as u32),
        _ => default,
    })
}

impl Vocab {
    /// Reads the vocabulary from GGUF metadata.
    pub fn from_gguf(meta: &Metadata) -> Result<Vocab> {
        let model = meta
            .str("tokenizer.ggml.model")?
            .ok_or_else(|| tok_err("no tokenizer.ggml.model in the GGUF"))?;
        let kind = match model {
            "llama" => VocabKind::Spm,
            "gpt2" => VocabKind::Bpe,
            other => return Err(tok_err(format!("unsupported tokenizer model {other:?}"))),
        };
        let pre = meta.str("tokenizer.ggml.pre")?.unwrap_or("").to_string();

        let raw = meta
            .strings("tokenizer.ggml.tokens")?
            .ok_or_else(|| tok_err("no tokenizer.ggml.tokens in the GGUF"))?;
        let n = raw.len();
        if n == 0 || n > u32::MAX as usize / 2 {
            return Err(tok_err(format!("vocabulary of {n} tokens")));
        }
        let texts: Vec<String> = raw
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if t.is_empty() {
                    format!("[EMPTY_{i}]")
                } else {
                    (*t).to_string()
                }
            })
            .collect();

        let scores = match meta.f32s("tokenizer.ggml.scores") {
            Ok(Some(s)) => s,
            Ok(None) => vec![0.0; n],
            Err(_) => meta
                .i64s("tokenizer.ggml.scores")?
                .unwrap_or_default()
                .into_iter()
                .map(|s| s as f32)
                .collect(),
        };
        if scores.len() < n {
            return Err(tok_err(format!("{} scores for {n} tokens", scores.len())));
        }

        let attrs = match meta.i64s("tokenizer.ggml.token_type")? {
            None => vec![attr::NORMAL; n],
            Some(types) if types.len() < n => {
                return Err(tok_err(format!(
                    "{} token types for {n} tokens",
                    types.len()
                )));
            }
            Some(types) => types
                .iter()
                .take(n)
                .map(|t| match t {
                    1 => attr::NORMAL,
                    2 => attr::UNKNOWN,
                    3 => attr::CONTROL,
                    4 => attr::USER_DEFINED,
                    5 => attr::UNUSED,
                    6 => attr::BYTE,
                    _ => attr::UNDEFINED,
                })
                .collect(),
        };

        // Defaults by model (llama.cpp), then overridden by the GGUF's keys.
        let (def_bos, def_eos, def_unk) = match kind {
            VocabKind::Spm => (Some(1), Some(2), Some(0)),
            VocabKind::Bpe => (Some(11), Some(11), None),
        };
        // SentencePiece vocabs have no pre-tokenizer: llama.cpp ignores the name.
        let spec = match kind {
            VocabKind::Spm => None,
            VocabKind::Bpe => Some(PreSpec::of(&pre)?),
        };
        let mut add_space_prefix = kind == VocabKind::Spm;
        if let Some(v) = meta.bool("tokenizer.ggml.add_space_prefix")? {
            add_space_prefix = v;
        }
        let add_bos = meta
            .bool("tokenizer.ggml.add_bos_token")?
            .unwrap_or(spec.is_none_or(|s| s.add_bos));
        let add_eos = meta.bool("tokenizer.ggml.add_eos_token")?.unwrap_or(false);

        let key = |name: &str, default| id_key(meta, &format!("tokenizer.ggml.{name}"), default, n);
        let bos = key("bos_token_id", def_bos)?;
        let eos = key("eos_token_id", def_eos)?;
        let unk = key("unknown_token_id", def_unk)?;
        let eot = key("eot_token_id", None)?;
        let eom = key("eom_token_id", None)?;
        let fim_pad = key("fim_pad_token_id", None)?;
        let fim_rep = key("fim_rep_token_id", None)?;
        let fim_sep = key("fim_sep_token_id", None)?;

        let mut vocab = Vocab {
            kind,
            pre,
            texts,
            scores,
            attrs,
            bos,
            eos,
            unk,
            add_bos,
            add_eos,
            add_space_prefix,
            clean_spaces: spec.is_some_and(|s| s.clean_spaces),
            spec,
            eog: Vec::new(),
            special_cache: Vec::new(),
        };
        vocab.find_eog(eot, eom, [fim_pad, fim_rep, fim_sep]);
        vocab.build_special_cache(meta)?;
        Ok(vocab)
    }

    /// Decides the end-of-generation set the way llama.cpp does: the FIM pad/repo/sep
    /// tokens, every token whose text is a known end marker (made a control token),
    /// and the EOS, EOT and EOM ids.
    fn find_eog(&mut self, eot: Option<u32>, eom: Option<u32>, fim: [Option<u32>; 3]) {
        let find = |texts: &[&str]| {
            self.texts
                .iter()
                .position(|t| texts.contains(&t.as_str()))
                .map(|i| i as u32)
        };
        let [fim_pad, fim_rep, fim_sep] = fim;
        let fim_pad = fim_pad.or_else(|| find(FIM_PAD_TEXTS));
        let fim_rep = fim_rep.or_else(|| find(FIM_REP_TEXTS));
        let fim_sep = fim_sep.or_else(|| find(FIM_SEP_TEXTS));
        let mut eog: Vec<u32> = [fim_pad, fim_rep, fim_sep].into_iter().flatten().collect();
        for (i, text) in self.texts.iter().enumerate() {
            if EOG_TEXTS.contains(&text.as_str()) {
                eog.push(i as u32);
            }
        }
        // Tokens that look like control tokens are made control tokens, so that they
        // are only parsed from text when special parsing is on.
        let controls: Vec<u32> = eog.clone();
        for id in controls
            .into_iter()
            .chain(fim_pad)
            .chain(fim_rep)
            .chain(fim_sep)
        {
            self.attrs[id as usize] |= attr::CONTROL;
        }
        for text in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let Some(i) = self.texts.iter().position(|t| t == text) {
                self.attrs[i] = attr::USER_DEFINED;
            }
        }
        eog.extend([self.eos, eot, eom].into_iter().flatten());
        eog.sort_unstable();
        eog.dedup();

        let has = |t: &str| eog.iter().any(|&id| self.texts[id as usize] == t);
        let end_is_not_eog =
            (has("<|return|>") && has("<|call|>")) || (has("<|calls|>") && has("<|flush|>"));
        let s_is_normal = has("<|tool_response>") || has("<|plamo:eos|>");
        if end_is_not_eog {
            // o200k-harmony / solar-open: "<|end|>" only ends a message.
            if let Some(pos) = eog
                .iter()
                .position(|&id| self.texts[id as usize] == "<|end|>")
            {
                let id = eog.remove(pos);
                self.attrs[id as usize] = attr::USER_DEFINED;
            }
        }
        if s_is_normal {
            // Gemma 4 and PLaMo: "</s>" is an ordinary token.
            if let Some(pos) = eog.iter().position(|&id| self.texts[id as usize] == "</s>") {
                let id = eog.remove(pos);
                self.attrs[id as usize] = attr::NORMAL;
            }
        }
        self.eog = eog;
    }

    /// Lists the tokens the special-token splitter looks for, longest first, and
    /// applies the per-model strip attributes llama.cpp sets (Phi-3).
    fn build_special_cache(&mut self, meta: &Metadata) -> Result<()> {
        let mask = attr::CONTROL | attr::USER_DEFINED | attr::UNKNOWN;
        let mut cache: Vec<u32> = (0..self.texts.len() as u32)
            .filter(|&id| self.attrs[id as usize] & mask != 0)
            .collect();
        cache.sort_by_key(|&id| std::cmp::Reverse(self.texts[id as usize].len()));

        let name = meta.str("general.name")?.unwrap_or_default().to_lowercase();
        if name.contains("phi-3") || name.contains("phi3") {
            for &id in &cache {
                self.attrs[id as usize] |= attr::RSTRIP;
            }
            self.set_strip("</s>", attr::RSTRIP, true);
            for text in ["<unk>", "<s>", "<|endoftext|>"] {
                self.set_strip(text, attr::RSTRIP, false);
            }
        }
        self.special_cache = cache;
        Ok(())
    }

    fn set_strip(&mut self, text: &str, bit: u32, on: bool) {
        if let Some(i) = self.texts.iter().position(|t| t == text) {
            if on {
                self.attrs[i] |= bit;
            } else {
                self.attrs[i] &= !bit;
            }
        }
    }

    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// The attribute bits of `id` (which must be in range).
    pub fn attr(&self, id: u32) -> u32 {
        self.attrs[id as usize]
    }
}

/// A tokenizer error.
pub(crate) fn tok_err(msg: impl Into<String>) -> ModelError {
    ModelError::Tokenizer(msg.into())
}
