//! One conversation over a backend's context: the layer the CLI and the web engine share.
//! A request carries its whole prompt (earlier turns included); the context keeps the
//! longest prefix it already holds and prefills only the rest. A chat too long for the
//! context loses its oldest turns ([`fit_chat`]), and each answer says why it ended.

use std::future::Future;

use crate::chat_template::{ChatTemplate, Message, encode_chat_with, fit_chat};
use crate::kv_snapshot::KvSnapshot;
use crate::sampler::Sampler;
use crate::tokenizer::Tokenizer;
use crate::tools::Tools;
use crate::{Guide, ModelError, Result, StopRule};

/// A backend's KV context as a conversation drives it (the reference's [`RefContext`],
/// the CPU engine's and the GPU engine's sessions).
pub trait Context {
    /// Most positions it takes.
    fn capacity(&self) -> usize;
    /// Positions it holds.
    fn len(&self) -> usize;
    /// True before the first position.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Forgets positions from `len` on.
    fn truncate(&mut self, len: usize);
    /// [`crate::generate`]'s contract, after what the context holds.
    fn generate(
        &mut self,
        prompt: &[u32],
        sampler: &mut Sampler,
        stop: &StopRule,
        guide: Guide<'_>,
        on_token: impl FnMut(u32) -> Result<bool>,
    ) -> impl Future<Output = Result<Vec<u32>>>;
}

/// The f32 reference model with its KV cache, as a [`Context`].
pub struct RefContext<'m> {
    pub model: &'m crate::Model,
    pub cache: crate::KvCache,
}

impl<'m> RefContext<'m> {
    /// A context of up to `n_ctx` positions on `model`.
    pub fn new(model: &'m crate::Model, n_ctx: usize) -> RefContext<'m> {
        RefContext {
            model,
            cache: model.new_cache(n_ctx),
        }
    }
}

impl crate::kv_snapshot::KvSnapshot for RefContext<'_> {
    fn kv_shape(&self) -> (usize, usize) {
        (self.model.config.n_layer, self.model.config.kv_dim())
    }
    fn value_bytes(&self) -> usize {
        4
    }
    async fn export_kv(&mut self, from: usize, to: usize) -> Result<Vec<u8>> {
        self.cache.export(self.model.config.kv_dim(), from, to)
    }
    fn import_kv(&mut self, at: usize, bytes: &[u8]) -> Result<usize> {
        self.cache.import(self.model.config.kv_dim(), at, bytes)
    }
}

impl Context for RefContext<'_> {
    fn capacity(&self) -> usize {
        self.cache.capacity()
    }
    fn len(&self) -> usize {
        self.cache.len()
    }
    fn truncate(&mut self, len: usize) {
        self.cache.truncate(len, self.model.config.kv_dim());
    }
    async fn generate(
        &mut self,
        prompt: &[u32],
        sampler: &mut Sampler,
        stop: &StopRule,
        guide: Guide<'_>,
        on_token: impl FnMut(u32) -> Result<bool>,
    ) -> Result<Vec<u32>> {
        let (model, cache) = (self.model, &mut self.cache);
        let step = |t: &[u32]| std::future::ready(model.forward_last(t, cache));
        crate::generate(prompt, sampler, stop, guide, step, on_token).await
    }
}

/// Why an answer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// The model ended it (an end-of-generation token).
    Stop,
    /// It reached `max_tokens` or the end of the context.
    Length,
    /// The caller's `on_token` stopped it.
    Abort,
    /// Its constraint (schema, grammar, regex) left no token that could go on.
    NoLegalToken,
}

impl Finish {
    /// The OpenAI API's name: "stop", "length" or "abort"; "no_legal_token" (hearth's)
    /// when a constraint left no token.
    pub fn as_str(self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Length => "length",
            Finish::Abort => "abort",
            Finish::NoLegalToken => "no_legal_token",
        }
    }
}

/// What one request produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The new ids (without the end token).
    pub ids: Vec<u32>,
    /// Tokens of the whole prompt.
    pub prompt_tokens: usize,
    /// Of those, the ones the context already held.
    pub reused_tokens: usize,
    pub finish: Finish,
}

/// Tokens a chat keeps free for its answer when the request names no `max_tokens` (at
/// most half the context).
pub const ANSWER_ROOM: usize = 256;

/// The prompt of the chat `messages` in a context of `capacity` positions, leaving room
/// for the answer (`max_tokens`, else [`ANSWER_ROOM`]; at most half the context): the
/// oldest turns are left out as [`fit_chat`] says. With `tools`, the conversation is
/// rendered as their format wants ([`Tools::messages`], [`Tools::template_extra`]).
/// Returns the prompt and how many messages were left out.
pub fn chat_prompt(
    template: &ChatTemplate,
    tok: &Tokenizer,
    messages: &[Message],
    tools: Option<&Tools>,
    capacity: usize,
    max_tokens: Option<usize>,
) -> Result<(Vec<u32>, usize)> {
    if messages.is_empty() {
        return Err(ModelError::Request(
            "a chat needs at least one message".into(),
        ));
    }
    let reserve = max_tokens
        .unwrap_or(ANSWER_ROOM)
        .clamp(1, (capacity / 2).max(1));
    let (messages, extra) = match tools {
        Some(t) => (t.messages(messages), t.template_extra()),
        None => (messages.to_vec(), serde_json::Map::new()),
    };
    fit_chat(&messages, capacity.saturating_sub(reserve), |ms| {
        encode_chat_with(template, tok, ms, &extra)
    })
}

/// The ids a context holds, so that a request sharing their prefix reuses them.
#[derive(Clone, Debug, Default)]
pub struct Conversation {
    /// The ids whose keys and values the context holds, in order.
    cached: Vec<u32>,
}

impl Conversation {
    /// A conversation over an empty context.
    pub fn new() -> Conversation {
        Conversation::default()
    }

    /// The ids whose keys and values the context holds.
    pub fn held(&self) -> &[u32] {
        &self.cached
    }

    /// The ids held from position `from` on, with their keys and values as snapshot
    /// bytes ([`crate::kv_snapshot`]), to keep for a later [`Conversation::restore`].
    pub async fn snapshot(
        &self,
        ctx: &mut impl KvSnapshot,
        from: usize,
    ) -> Result<(Vec<u32>, Vec<u8>)> {
        let to = self.cached.len().min(ctx.len());
        let bytes = ctx.export_kv(from, to).await?;
        Ok((self.cached[from..to].to_vec(), bytes))
    }

    /// Puts back what [`Conversation::snapshot`] gave: `ids` and their keys and values
    /// at position `at` (at most what the context holds), as if they had been run.
    pub fn restore(
        &mut self,
        ctx: &mut impl KvSnapshot,
        at: usize,
        ids: &[u32],
        bytes: &[u8],
    ) -> Result<()> {
        let at = at.min(self.cached.len());
        if at > ctx.len() {
            return Err(ModelError::Request(format!(
                "a KV snapshot at {at} is past the context's {} positions",
                ctx.len()
            )));
        }
        let n = bytes.len() / ctx.position_bytes().max(1);
        if n != ids.len() {
            return Err(ModelError::Request(format!(
                "a KV snapshot of {n} positions came with {} ids",
                ids.len()
            )));
        }
        if let Err(e) = ctx.import_kv(at, bytes) {
            // what the context holds past `at` may be gone
            ctx.truncate(at);
            self.cached.truncate(at);
            return Err(e);
        }
        self.cached.truncate(at);
        self.cached.extend_from_slice(ids);
        Ok(())
    }

    /// Forgets everything (`ctx` too): a new conversation.
    pub fn reset(&mut self, ctx: &mut impl Context) {
        ctx.truncate(0);
        self.cached.clear();
    }

    /// Answers `prompt` (whole: earlier turns included) in `ctx`, which must be the
    /// context this conversation has run in, by `stop` (whose `max_tokens` is capped at
    /// the room the context has left); `on_token` sees each new id and returns false to
    /// abort; `guide` holds the answer to a format and records log-probabilities. After an
    /// error the context is cleared.
    pub async fn run(
        &mut self,
        ctx: &mut impl Context,
        prompt: &[u32],
        sampler: &mut Sampler,
        stop: &StopRule,
        mut guide: Guide<'_>,
        mut on_token: impl FnMut(u32) -> Result<bool>,
    ) -> Result<Answer> {
        if prompt.is_empty() {
            return Err(ModelError::Request("the prompt is empty".into()));
        }
        let capacity = ctx.capacity();
        if prompt.len() >= capacity {
            return Err(ModelError::Request(format!(
                "the prompt is {} tokens; the context holds {capacity}",
                prompt.len()
            )));
        }
        let room = capacity - prompt.len();
        let max_tokens = stop.max_tokens.min(room);
        let stop = StopRule {
            max_tokens,
            ..stop.clone()
        };
        // keep the longest prefix the context holds; run at least one new token
        let keep = self
            .cached
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count()
            .min(ctx.len())
            .min(prompt.len() - 1);
        ctx.truncate(keep);
        self.cached.truncate(keep);
        let mut aborted = false;
        let ids = ctx
            .generate(&prompt[keep..], sampler, &stop, guide.reborrow(), |id| {
                let go = on_token(id)?;
                aborted = !go;
                Ok(go)
            })
            .await;
        let ids = match ids {
            Ok(ids) => ids,
            Err(e) => {
                // the context's state is unknown: the next request starts afresh
                self.reset(ctx);
                return Err(e);
            }
        };
        // the last id is not in the context yet: the next turn runs it
        self.cached = prompt.iter().chain(&ids).copied().collect();
        self.cached.truncate(ctx.len());
        let finish = if aborted {
            Finish::Abort
        } else if guide.constraint.is_some_and(|c| c.dead().is_some()) {
            Finish::NoLegalToken
        } else if ids.len() >= max_tokens {
            Finish::Length
        } else {
            Finish::Stop
        };
        Ok(Answer {
            ids,
            prompt_tokens: prompt.len(),
            reused_tokens: keep,
            finish,
        })
    }
}
