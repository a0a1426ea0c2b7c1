//! Constrained decoding: answers held to a JSON Schema, a Lark grammar or a regex, on
//! llguidance. [`Grammars`] bridges one tokenizer to llguidance (built once per model:
//! every token's bytes in a trie); [`Grammars::compile`] checks a format and gives a
//! [`Constraint`], one answer's state. Each step the constraint says which tokens may come
//! next ([`Constraint::next`]); the backend keeps the others out of the draw (the CPU
//! backends as −inf logits, the GPU sampler through a bitmask), then [`Constraint::accept`]
//! takes the pick.

use std::sync::Arc;

use llguidance::api::TopLevelGrammar;
use llguidance::toktrie::{TokEnv, TokRxInfo, TokTrie, TokenId, TokenizerEnv};
use llguidance::{Matcher, ParserFactory};

use crate::tokenizer::Tokenizer;
use crate::{ModelError, Result};

/// What an answer must be.
#[derive(Clone, Debug, PartialEq)]
pub enum Format {
    /// Any JSON object (OpenAI's `json_object`).
    JsonObject,
    /// JSON valid against this schema.
    JsonSchema(serde_json::Value),
    /// Text of this grammar in llguidance's Lark syntax, or in llama.cpp's GBNF (a text
    /// with `::=` rules; rewritten by [`crate::gbnf`]).
    Lark(String),
    /// Text this regex matches whole.
    Regex(String),
}

/// One tokenizer as llguidance sees it, shared by the answers of a model.
#[derive(Clone)]
pub struct Grammars {
    factory: Arc<ParserFactory>,
    n_vocab: usize,
}

/// The tokens allowed at one step: bit `id % 32` of word `id / 32` set.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenMask {
    pub words: Vec<u32>,
}

impl TokenMask {
    /// Whether `id` is allowed.
    pub fn allows(&self, id: u32) -> bool {
        self.words
            .get(id as usize / 32)
            .is_some_and(|w| w >> (id % 32) & 1 == 1)
    }

    /// Sets every disallowed logit to −inf.
    pub fn apply(&self, logits: &mut [f32]) {
        for (id, l) in logits.iter_mut().enumerate() {
            if !self.allows(id as u32) {
                *l = f32::NEG_INFINITY;
            }
        }
    }
}

/// What a constraint says of the next token.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Only these tokens may come next.
    Mask(TokenMask),
    /// The answer is complete: it ends here.
    Done,
    /// No token can continue the answer (the grammar leaves none, or it failed).
    Dead(String),
}

/// One answer's constraint state.
pub struct Constraint {
    matcher: Matcher,
    n_vocab: usize,
    eos: u32,
    /// Why no token could continue, once that happened.
    dead: Option<String>,
}

/// The tokenizer as llguidance's `TokenizerEnv`.
struct Env {
    trie: TokTrie,
    tok: Tokenizer,
}

impl TokenizerEnv for Env {
    fn tok_trie(&self) -> &TokTrie {
        &self.trie
    }

    fn tokenize_bytes(&self, s: &[u8]) -> Vec<TokenId> {
        // the grammar's literal text, as the model would write it (no special tokens)
        self.tok
            .encode(&String::from_utf8_lossy(s), false, false)
            .unwrap_or_default()
    }
}

impl Grammars {
    /// The bridge for `tok`: every token's bytes (control tokens by name behind
    /// llguidance's special marker, so no text matches them); `eos` ends a complete answer.
    pub fn new(tok: &Tokenizer) -> Result<Grammars> {
        let n_vocab = tok.vocab_size();
        let eos = tok
            .eos_id()
            .or_else(|| tok.eog_ids().first().copied())
            .ok_or_else(|| ModelError::Request("the tokenizer has no end token".into()))?;
        let mut words = Vec::with_capacity(n_vocab);
        for id in 0..n_vocab as u32 {
            if tok.is_control(id) {
                let mut w = vec![TokTrie::SPECIAL_TOKEN_MARKER];
                w.extend_from_slice(tok.token_text(id).unwrap_or_default().as_bytes());
                words.push(w);
            } else {
                words.push(tok.token_piece(id)?.into_owned());
            }
        }
        let trie = TokTrie::from(&TokRxInfo::new(n_vocab as u32, eos), &words);
        let env: TokEnv = Arc::new(Env {
            trie,
            tok: tok.clone(),
        });
        let mut factory = ParserFactory::new_simple(&env).map_err(bad)?;
        factory.quiet();
        Ok(Grammars {
            factory: Arc::new(factory),
            n_vocab,
        })
    }

    /// Compiles `format` for one answer; a schema, grammar or regex llguidance rejects is
    /// an error naming the problem.
    pub fn compile(&self, format: &Format) -> Result<Constraint> {
        let grammar = match format {
            Format::JsonObject => {
                TopLevelGrammar::from_json_schema(serde_json::json!({"type": "object"}))
            }
            Format::JsonSchema(schema) => TopLevelGrammar::from_json_schema(schema.clone()),
            Format::Lark(text) if crate::gbnf::is_gbnf(text) => {
                TopLevelGrammar::from_lark(crate::gbnf::to_lark(text)?)
            }
            Format::Lark(text) => TopLevelGrammar::from_lark(text.clone()),
            Format::Regex(rx) => TopLevelGrammar::from_regex(rx),
        };
        let parser = self
            .factory
            .create_parser(grammar)
            .map_err(|e| ModelError::Request(format!("{}: {e}", format.kind())))?;
        let eos = self.factory.tok_env().tok_trie().eos_token();
        Ok(Constraint {
            matcher: Matcher::new(Ok(parser)),
            n_vocab: self.n_vocab,
            eos,
            dead: None,
        })
    }
}

impl Format {
    /// The format an OpenAI-shaped request's `response_format` asks for (`None`: free
    /// text): `{type: "text"}`; `{type: "json_object"}`, with WebLLM's `schema` (a JSON
    /// string or an object) a schema; `{type: "json_schema", json_schema: {name, schema,
    /// strict}}`; `{type: "grammar", grammar}` (Lark or GBNF); `{type: "regex", regex}` (hearth's,
    /// also what Chrome's `responseConstraint` RegExp becomes).
    pub fn from_response_format(v: &serde_json::Value) -> Result<Option<Format>> {
        let bad = |what: &str| Err(ModelError::Request(format!("response_format: {what}")));
        let field = |k: &str| v.get(k).filter(|x| !x.is_null());
        let text = |k: &str| field(k).and_then(|x| x.as_str()).map(str::to_string);
        Ok(Some(match v.get("type").and_then(|t| t.as_str()) {
            Some("text") => return Ok(None),
            Some("json_object") => match field("schema") {
                None => Format::JsonObject,
                Some(serde_json::Value::String(s)) => match serde_json::from_str(s) {
                    Ok(schema) => Format::JsonSchema(schema),
                    Err(e) => return bad(&format!("schema is not JSON: {e}")),
                },
                Some(schema) => Format::JsonSchema(schema.clone()),
            },
            Some("json_schema") => {
                match field("json_schema")
                    .and_then(|j| j.get("schema"))
                    .filter(|x| !x.is_null())
                {
                    Some(schema) => Format::JsonSchema(schema.clone()),
                    None => return bad("json_schema needs {name, schema}"),
                }
            }
            Some("grammar") => match text("grammar") {
                Some(g) => Format::Lark(g),
                None => return bad("grammar needs a `grammar` string"),
            },
            Some("regex") => match text("regex").or_else(|| text("pattern")) {
                Some(r) => Format::Regex(r),
                None => return bad("regex needs a `regex` string"),
            },
            Some(other) => {
                return bad(&format!(
                    "unknown type {other:?} (text, json_object, json_schema, grammar, regex)"
                ));
            }
            None => return bad("needs a `type`"),
        }))
    }

    /// What the format is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Format::JsonObject => "JSON object",
            Format::JsonSchema(_) => "JSON schema",
            Format::Lark(_) => "grammar",
            Format::Regex(_) => "regex",
        }
    }
}

impl Constraint {
    /// The tokens that may come next, or that the answer is complete or dead (remembered:
    /// [`Constraint::dead`]).
    pub fn step(&mut self) -> Next {
        let next = self.compute();
        if let Next::Dead(why) = &next {
            self.dead = Some(why.clone());
        }
        next
    }

    /// Why the answer could not go on, if [`Constraint::next`] found no token.
    pub fn dead(&self) -> Option<&str> {
        self.dead.as_deref()
    }

    fn compute(&mut self) -> Next {
        if self.matcher.is_stopped() {
            return match self.matcher.get_error() {
                Some(e) => Next::Dead(e),
                None => Next::Done,
            };
        }
        match self.matcher.compute_mask() {
            Ok(mask) => {
                let mut words = mask.as_slice().to_vec();
                words.resize(self.n_vocab.div_ceil(32), 0);
                let mask = TokenMask { words };
                if mask.words.iter().all(|&w| w == 0) {
                    Next::Dead("the grammar allows no token here".into())
                } else if mask.words.iter().enumerate().all(|(i, &w)| {
                    w == 0 || (i == self.eos as usize / 32 && w == 1 << (self.eos % 32))
                }) {
                    // only the end: the answer is complete
                    Next::Done
                } else {
                    Next::Mask(mask)
                }
            }
            Err(e) => Next::Dead(e.to_string()),
        }
    }

    /// Takes the token the sampler picked (one [`Constraint::next`] allowed).
    pub fn accept(&mut self, id: u32) -> Result<()> {
        self.matcher
            .consume_token(id)
            .map_err(|e| ModelError::Request(format!("token {id} breaks the constraint: {e}")))
    }
}

fn bad(e: impl std::fmt::Display) -> ModelError {
    ModelError::Request(format!("constrained decoding: {e}"))
}
