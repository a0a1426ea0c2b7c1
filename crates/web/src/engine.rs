//! A loaded model and its one conversation context: chats and completions, streamed token
//! by token to a JS callback. A request that starts with what the context already holds
//! (the earlier turns of a chat) prefills only its new tokens.

use std::rc::Rc;

use hearth_gpu::{GpuModel, Result as GpuResult, Session};
use hearth_model::StopRule;
use hearth_model::chat_template::{ChatTemplate, Message, encode_chat, fit_chat};
use hearth_model::sampler::{Sampler, SamplerConfig};
use hearth_model::tokenizer::{StreamDecoder, Tokenizer};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::loader::js;

/// Prompt tokens prefilled per batch.
const N_BATCH: usize = 128;

/// A model on the GPU with its tokenizer, chat template and context.
#[wasm_bindgen]
pub struct WebEngine {
    model: Rc<GpuModel>,
    session: Session<'static>,
    tok: Tokenizer,
    template: ChatTemplate,
    name: String,
    /// The ids whose keys and values the context holds, in order.
    cached: Vec<u32>,
}

/// A chat or completion request (the OpenAI client's names).
#[derive(Deserialize)]
struct Request {
    #[serde(default)]
    messages: Vec<MessageIn>,
    /// Text, or token ids, for a completion.
    #[serde(default)]
    prompt: Option<Prompt>,
    #[serde(default)]
    temperature: Option<f32>,
    #[serde(default)]
    top_p: Option<f32>,
    #[serde(default)]
    top_k: Option<usize>,
    #[serde(default)]
    min_p: Option<f32>,
    #[serde(default)]
    repetition_penalty: Option<f32>,
    #[serde(default)]
    max_tokens: Option<usize>,
    #[serde(default)]
    seed: Option<u64>,
}

#[derive(Deserialize)]
struct MessageIn {
    role: String,
    content: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Prompt {
    Text(String),
    Ids(Vec<u32>),
}

/// What a request produced.
#[derive(Serialize)]
struct Answer {
    text: String,
    token_ids: Vec<u32>,
    prompt_tokens: usize,
    completion_tokens: usize,
    /// "stop" (end of generation), "length" (max_tokens or the context's end) or "abort".
    finish_reason: &'static str,
    /// Chat messages left out, oldest first, for the prompt to fit the context.
    dropped_messages: usize,
}

/// Tokens a chat keeps free for its answer when the request names no max_tokens (at
/// most half the context).
const ANSWER_ROOM: usize = 256;

impl WebEngine {
    pub(crate) fn new(
        model: GpuModel,
        tok: Tokenizer,
        template: ChatTemplate,
        name: String,
        n_ctx: usize,
    ) -> GpuResult<WebEngine> {
        let model = Rc::new(model);
        let session = Session::shared(model.clone(), n_ctx, N_BATCH)?;
        Ok(WebEngine {
            model,
            session,
            tok,
            template,
            name,
            cached: Vec::new(),
        })
    }

    /// Runs `prompt` (whole: earlier turns included) and streams the new tokens to
    /// `on_token(piece, id)`; the callback returning `false` stops generation.
    async fn run(
        &mut self,
        prompt: Vec<u32>,
        r: &Request,
        on_token: &js_sys::Function,
    ) -> Result<Answer, JsError> {
        if prompt.is_empty() {
            return Err(JsError::new("the prompt is empty"));
        }
        let capacity = self.session.capacity();
        if prompt.len() >= capacity {
            return Err(JsError::new(&format!(
                "the prompt is {} tokens; the context holds {capacity}",
                prompt.len()
            )));
        }
        let defaults = SamplerConfig::default();
        let mut sampler = Sampler::new(SamplerConfig {
            temperature: r.temperature.unwrap_or(defaults.temperature),
            top_k: r.top_k.unwrap_or(defaults.top_k),
            top_p: r.top_p.unwrap_or(defaults.top_p),
            min_p: r.min_p.unwrap_or(defaults.min_p),
            repeat_penalty: r.repetition_penalty.unwrap_or(defaults.repeat_penalty),
            seed: r.seed.unwrap_or(defaults.seed),
            ..defaults
        })
        .map_err(js)?;
        let room = capacity - prompt.len();
        let max_tokens = r.max_tokens.unwrap_or(room).min(room);
        let stop = StopRule {
            max_tokens,
            eog: self.tok.eog_ids().to_vec(),
            ignore_eos: false,
        };
        // keep the longest prefix the context already holds; run at least one new token
        let mut keep = self
            .cached
            .iter()
            .zip(&prompt)
            .take_while(|(a, b)| a == b)
            .count()
            .min(self.session.len());
        keep = keep.min(prompt.len() - 1);
        self.session.truncate(keep);
        self.cached.truncate(keep);
        let mut stream = StreamDecoder::new(&self.tok);
        let mut aborted = false;
        let ids = self
            .session
            .generate(&prompt[keep..], &mut sampler, &stop, |id| {
                let piece = stream.push(id)?;
                let go = on_token
                    .call2(
                        &JsValue::NULL,
                        &JsValue::from_str(&piece),
                        &JsValue::from(id),
                    )
                    .map(|v| v.as_bool() != Some(false))
                    .unwrap_or(false);
                aborted = !go;
                Ok(go)
            })
            .await;
        let ids = match ids {
            Ok(ids) => ids,
            Err(e) => {
                // the context's state is unknown: start the next request afresh
                self.session.clear();
                self.cached.clear();
                return Err(js(e));
            }
        };
        let tail = stream.finish();
        if !tail.is_empty() {
            let _ = on_token.call2(&JsValue::NULL, &JsValue::from_str(&tail), &JsValue::NULL);
        }
        self.cached = prompt.iter().chain(&ids).copied().collect();
        self.cached.truncate(self.session.len());
        let finish_reason = if aborted {
            "abort"
        } else if ids.len() >= max_tokens {
            "length"
        } else {
            "stop"
        };
        Ok(Answer {
            text: self.tok.decode(&ids).map_err(js)?,
            prompt_tokens: prompt.len(),
            completion_tokens: ids.len(),
            token_ids: ids,
            finish_reason,
            dropped_messages: 0,
        })
    }
}

fn request(json: &str) -> Result<Request, JsError> {
    serde_json::from_str(json).map_err(|e| JsError::new(&format!("bad request: {e}")))
}

fn answer(a: &Answer) -> Result<String, JsError> {
    serde_json::to_string(a).map_err(js)
}

#[wasm_bindgen]
impl WebEngine {
    /// A chat turn: `request` is JSON with `messages` [{role, content}] and the sampling
    /// options; the answer is JSON {text, token_ids, prompt_tokens, completion_tokens,
    /// finish_reason, dropped_messages}. A conversation too long for the context loses
    /// its oldest turns (never the system messages or the last turn): dropped_messages
    /// says how many messages.
    pub async fn chat(
        &mut self,
        request_json: String,
        on_token: js_sys::Function,
    ) -> Result<String, JsError> {
        let r = request(&request_json)?;
        if r.messages.is_empty() {
            return Err(JsError::new("a chat needs at least one message"));
        }
        let messages: Vec<Message> = r
            .messages
            .iter()
            .map(|m| Message::new(m.role.clone(), m.content.clone()))
            .collect();
        // a conversation longer than the context drops its oldest turns, keeping the
        // system prompt and room for the answer
        let capacity = self.session.capacity();
        let reserve = r.max_tokens.unwrap_or(ANSWER_ROOM).clamp(1, capacity / 2);
        let (template, tok) = (&self.template, &self.tok);
        let (prompt, dropped) = fit_chat(&messages, capacity - reserve, |ms| {
            encode_chat(template, tok, ms)
        })
        .map_err(js)?;
        let mut a = self.run(prompt, &r, &on_token).await?;
        a.dropped_messages = dropped;
        answer(&a)
    }

    /// A plain completion of `prompt` (text, tokenized as written with special tokens
    /// parsed and a BOS where the model wants one, or token ids).
    pub async fn complete(
        &mut self,
        request_json: String,
        on_token: js_sys::Function,
    ) -> Result<String, JsError> {
        let r = request(&request_json)?;
        let prompt = match &r.prompt {
            Some(Prompt::Text(t)) => self.tok.encode(t, self.tok.add_bos(), true).map_err(js)?,
            Some(Prompt::Ids(ids)) => {
                let n = self.model.config.n_vocab as u32;
                if let Some(bad) = ids.iter().find(|&&id| id >= n) {
                    return Err(JsError::new(&format!("token id {bad} is not below {n}")));
                }
                ids.clone()
            }
            None => return Err(JsError::new("a completion needs a prompt")),
        };
        answer(&self.run(prompt, &r, &on_token).await?)
    }

    /// The ids of `text` as `hearth tokenize` gives them (a BOS where the model wants
    /// one; special-token text is not parsed).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, JsError> {
        self.tok.encode(text, self.tok.add_bos(), false).map_err(js)
    }

    /// JSON facts about the engine: model name, sizes, adapter, KV cache type, matvec
    /// kernel, context.
    pub fn info(&self) -> String {
        let c = &self.model.config;
        serde_json::json!({
            "name": self.name,
            "n_layer": c.n_layer,
            "n_embd": c.n_embd,
            "n_vocab": c.n_vocab,
            "n_ctx": self.session.capacity(),
            "adapter": self.model.gpu.adapter_name(),
            "kv_cache": format!("{:?}", self.model.gpu.kv_type),
            // matvec_rowwise.wgsl (CPU drivers) or matvec.wgsl
            "matvec": if self.model.gpu.matvec_row_threads == 1 { "rowwise" } else { "shared" },
            "weight_bytes": self.model.weight_bytes_per_token(),
        })
        .to_string()
    }

    /// The logits after `ids` (a fresh context: the conversation is forgotten), for
    /// checking the browser's numerics against the native engine's.
    pub async fn logits(&mut self, ids: Vec<u32>) -> Result<Vec<f32>, JsError> {
        self.reset();
        let out = self.session.forward_last(&ids).await;
        self.reset();
        out.map_err(js)
    }

    /// Destroys the GPU device, as a driver reset or a crashed GPU process would: for
    /// testing the recovery from a lost device.
    pub fn lose_device(&self) {
        self.model.gpu.device.destroy();
    }

    /// Forgets the context (a new conversation).
    pub fn reset(&mut self) {
        self.session.clear();
        self.cached.clear();
    }
}
