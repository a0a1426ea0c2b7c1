//! A loaded model and its one conversation context: chats and completions, streamed token
//! by token to a JS callback. A request that starts with what the context already holds
//! (the earlier turns of a chat) prefills only its new tokens.

use std::rc::Rc;

use hearth_cpu::{CpuModel, CpuSession};
use hearth_gpu::{GpuModel, Session};
use hearth_model::Guide;
use hearth_model::StopRule;
use hearth_model::chat_template::ChatTemplate;
use hearth_model::constraint::{Format, Grammars};
use hearth_model::conversation::{Context, Conversation, Finish, chat_prompt};
use hearth_model::kv_snapshot::KvSnapshot;
use hearth_model::logprobs::Logprobs;
use hearth_model::sampler::{Sampler, SamplerConfig};
use hearth_model::stop::StopText;
use hearth_model::tokenizer::{StreamDecoder, Tokenizer};
use hearth_model::tools::{ToolChoice, Tools};
use hearth_protocol::openai::{self, Answer, Meta};
use hearth_protocol::worker::EngineInfo;
use hearth_protocol::{Prompt, Request};
use wasm_bindgen::prelude::*;

use crate::loader::js;

/// Prompt tokens prefilled per batch.
const N_BATCH: usize = 128;

/// A model on one backend with its context: the GPU engine's session, or the CPU
/// engine's.
pub(crate) enum Runner {
    Gpu {
        model: Rc<GpuModel>,
        session: Box<Session<'static>>,
    },
    Cpu(Box<CpuSession<Rc<CpuModel>>>),
}

impl Runner {
    /// The GPU engine with a context of `n_ctx` positions.
    pub(crate) fn gpu(model: GpuModel, n_ctx: usize) -> hearth_gpu::Result<Runner> {
        let model = Rc::new(model);
        let session = Box::new(Session::shared(model.clone(), n_ctx, N_BATCH)?);
        Ok(Runner::Gpu { model, session })
    }

    /// The CPU engine with a context of `n_ctx` positions.
    pub(crate) fn cpu(model: CpuModel, n_ctx: usize) -> Runner {
        Runner::Cpu(Box::new(CpuSession::new(Rc::new(model), n_ctx)))
    }

    fn config(&self) -> &hearth_model::Config {
        match self {
            Runner::Gpu { model, .. } => &model.config,
            Runner::Cpu(s) => &s.model().config,
        }
    }

    async fn forward_last(&mut self, ids: &[u32]) -> Result<Vec<f32>, String> {
        match self {
            Runner::Gpu { session, .. } => {
                session.forward_last(ids).await.map_err(|e| e.to_string())
            }
            Runner::Cpu(s) => s.forward_last(ids).map_err(|e| e.to_string()),
        }
    }
}

impl KvSnapshot for Runner {
    fn kv_shape(&self) -> (usize, usize) {
        match self {
            Runner::Gpu { session, .. } => session.kv_shape(),
            Runner::Cpu(s) => s.kv_shape(),
        }
    }
    fn value_bytes(&self) -> usize {
        match self {
            Runner::Gpu { session, .. } => session.value_bytes(),
            Runner::Cpu(s) => s.value_bytes(),
        }
    }
    async fn export_kv(&mut self, from: usize, to: usize) -> hearth_model::Result<Vec<u8>> {
        match self {
            Runner::Gpu { session, .. } => session.export_kv(from, to).await,
            Runner::Cpu(s) => s.export_kv(from, to).await,
        }
    }
    fn import_kv(&mut self, at: usize, bytes: &[u8]) -> hearth_model::Result<usize> {
        match self {
            Runner::Gpu { session, .. } => session.import_kv(at, bytes),
            Runner::Cpu(s) => s.import_kv(at, bytes),
        }
    }
}

impl Context for Runner {
    fn capacity(&self) -> usize {
        match self {
            Runner::Gpu { session, .. } => session.capacity(),
            Runner::Cpu(s) => s.capacity(),
        }
    }
    fn len(&self) -> usize {
        match self {
            Runner::Gpu { session, .. } => session.len(),
            Runner::Cpu(s) => s.len(),
        }
    }
    fn truncate(&mut self, len: usize) {
        match self {
            Runner::Gpu { session, .. } => session.truncate(len),
            Runner::Cpu(s) => s.truncate(len),
        }
    }
    async fn generate(
        &mut self,
        prompt: &[u32],
        sampler: &mut Sampler,
        stop: &StopRule,
        guide: hearth_model::Guide<'_>,
        on_token: impl FnMut(u32) -> hearth_model::Result<bool>,
    ) -> hearth_model::Result<Vec<u32>> {
        match self {
            Runner::Gpu { session, .. } => Ok(session
                .generate(prompt, sampler, stop, guide, on_token)
                .await?),
            Runner::Cpu(s) => {
                let step = |t: &[u32]| {
                    let logits = s.forward_last(t).map_err(Into::into);
                    async move {
                        // the steps never wait: let the Worker's messages (an abort) in
                        yield_to_events().await;
                        logits
                    }
                };
                hearth_model::generate(prompt, sampler, stop, guide, step, on_token).await
            }
        }
    }
}

/// Waits for one turn of the Worker's event loop (a MessageChannel round trip, which,
/// unlike timers, is not clamped), so that messages queued meanwhile are handled.
async fn yield_to_events() {
    let channel = match web_sys::MessageChannel::new() {
        Ok(c) => c,
        Err(_) => return,
    };
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        channel.port1().set_onmessage(Some(&resolve));
    });
    if channel.port2().post_message(&JsValue::NULL).is_ok() {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
    channel.port1().set_onmessage(None);
}

/// A model with its tokenizer, chat template and context.
#[wasm_bindgen]
pub struct WebEngine {
    session: Runner,
    /// Why this backend runs (the choice of `choose_backend`).
    why: String,
    tok: Tokenizer,
    template: ChatTemplate,
    name: String,
    /// What the context holds, for prefix reuse.
    conv: Conversation,
    /// The tokenizer's bridge to llguidance, made at the first constrained request.
    grammars: Option<Grammars>,
    /// The model's URL, which answers name.
    url: String,
    /// Answers so far, for their ids.
    answers: u64,
}

/// OpenAI's `logprobs` object of an answer.
fn logprobs_json(tok: &Tokenizer, lp: &Logprobs) -> serde_json::Value {
    let entry = |id: u32, logprob: f32| {
        let bytes = tok
            .token_piece(id)
            .map(|b| b.into_owned())
            .unwrap_or_default();
        serde_json::json!({
            "token": String::from_utf8_lossy(&bytes),
            "logprob": logprob,
            "bytes": bytes,
        })
    };
    let content: Vec<serde_json::Value> = lp
        .tokens
        .iter()
        .map(|t| {
            let mut e = entry(t.id, t.logprob);
            e["top_logprobs"] = t.top.iter().map(|&(id, l)| entry(id, l)).collect();
            e
        })
        .collect();
    serde_json::json!({ "content": content })
}

impl WebEngine {
    pub(crate) fn new(
        session: Runner,
        tok: Tokenizer,
        template: ChatTemplate,
        name: String,
        why: String,
    ) -> WebEngine {
        WebEngine {
            session,
            why,
            tok,
            template,
            name,
            conv: Conversation::new(),
            grammars: None,
            url: String::new(),
            answers: 0,
        }
    }

    /// A chat request's tools (checked against the template's call format before any
    /// token), its prompt ids and how many messages were dropped for it: a conversation
    /// longer than the context drops its oldest turns, keeping the system prompt and room
    /// for the answer.
    fn chat_prompt(&self, r: &Request) -> Result<(Option<Tools>, Vec<u32>, usize), JsError> {
        let choice = ToolChoice::from_value(r.tool_choice.as_ref()).map_err(js)?;
        let parallel = r.parallel_tool_calls.unwrap_or(true);
        let offered = r.tools.as_deref().unwrap_or(&[]);
        let tools = Tools::new(offered, &choice, parallel, self.template.source()).map_err(js)?;
        let (prompt, dropped) = chat_prompt(
            &self.template,
            &self.tok,
            &r.messages,
            tools.as_ref(),
            self.session.capacity(),
            r.max_tokens,
        )
        .map_err(js)?;
        Ok((tools, prompt, dropped))
    }

    /// What the objects of the next answer share: `chatcmpl-N` or `cmpl-N`, now, the URL.
    fn meta(&mut self, prefix: &str) -> Meta {
        self.answers += 1;
        Meta {
            id: format!("{prefix}-{}", self.answers),
            created: (js_sys::Date::now() / 1000.0) as u64,
            model: self.url.clone(),
        }
    }

    /// Runs `prompt` (whole: earlier turns included) through the conversation layer and
    /// streams the new text to `on_piece(piece, id)` (id None: text held back until the
    /// end); the callback returning `false` stops generation. `wanted()` false before
    /// the start (a request aborted while it waited its turn in worker.js's queue) ends
    /// it at once, with no prefill.
    async fn run(
        &mut self,
        prompt: Vec<u32>,
        r: &Request,
        tools: Option<&Tools>,
        wanted: impl Fn() -> bool,
        mut on_piece: impl FnMut(&str, Option<u32>) -> bool,
    ) -> Result<Answer, JsError> {
        if !wanted() {
            return Ok(Answer {
                prompt_tokens: prompt.len(),
                finish_reason: "abort",
                ..Answer::default()
            });
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
        let stop = StopRule {
            max_tokens: r.max_tokens.unwrap_or(usize::MAX),
            eog: self.tok.eog_ids().to_vec(),
            ignore_eos: false,
        };
        // the format is checked (and compiled) before any token
        let asked = match &r.response_format {
            Some(v) => Format::from_response_format(v).map_err(js)?,
            None => None,
        };
        let format = Tools::hold(tools, asked).map_err(js)?;
        let mut constraint = match format {
            Some(f) => {
                if self.grammars.is_none() {
                    self.grammars = Some(Grammars::new(&self.tok).map_err(js)?);
                }
                let grammars = self.grammars.as_ref().expect("just made");
                Some(grammars.compile(&f).map_err(js)?)
            }
            None => None,
        };
        let stops = r.stop.as_ref().map(|s| s.list()).unwrap_or_default();
        let mut stop_text = StopText::new(&stops).map_err(js)?;
        let mut logprobs = match (r.logprobs, r.top_logprobs) {
            (Some(true), top) => Some(Logprobs::new(top.unwrap_or(0)).map_err(js)?),
            (_, Some(_)) => return Err(JsError::new("top_logprobs needs logprobs: true")),
            _ => None,
        };
        let mut stream = StreamDecoder::new(&self.tok);
        // content streams; from where a tool call may begin, text waits for the end
        let mut calls = tools.and_then(Tools::stream);
        let done = self
            .conv
            .run(
                &mut self.session,
                &prompt,
                &mut sampler,
                &stop,
                Guide {
                    constraint: constraint.as_mut(),
                    logprobs: logprobs.as_mut(),
                },
                |id| {
                    // the text before a stop string is shown; the answer ends there
                    let mut piece = stop_text.push(&stream.push(id)?);
                    if let Some(c) = calls.as_mut() {
                        piece = c.push(&piece);
                    }
                    let go = on_piece(&piece, Some(id));
                    Ok(go && !stop_text.stopped())
                },
            )
            .await
            .map_err(js)?;
        let mut tail = String::new();
        if !stop_text.stopped() {
            tail = stop_text.push(&stream.finish());
            tail.push_str(&stop_text.finish());
        }
        if let (Some(t), Some(c)) = (tools, calls.as_mut()) {
            let piece = c.push(&tail);
            tail = piece + &t.finish(c).0;
        }
        if !tail.is_empty() {
            on_piece(&tail, None);
        }
        let text = self.tok.decode(&done.ids).map_err(js)?;
        let finish = if stop_text.stopped() {
            Finish::Stop
        } else {
            done.finish
        };
        let mut text = stop_text.cut(&text).to_string();
        let mut tool_calls = None;
        let mut finish_reason = finish.as_str();
        if let Some(t) = tools {
            let (content, made) = t.parse(&text);
            if !made.is_empty() {
                finish_reason = "tool_calls";
            }
            text = content;
            tool_calls = Some(made.iter().map(|c| c.to_openai()).collect());
        }
        Ok(Answer {
            text,
            tool_calls,
            prompt_tokens: done.prompt_tokens,
            cached_tokens: done.reused_tokens,
            completion_tokens: done.ids.len(),
            token_ids: done.ids,
            finish_reason,
            logprobs: logprobs.as_ref().map(|lp| logprobs_json(&self.tok, lp)),
            dropped_messages: 0,
        })
    }
}

fn request(json: &str) -> Result<Request, JsError> {
    Request::parse(json).map_err(|e| JsError::new(&e))
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Calls `on_chunk(json)`: false (or a throw) stops the answer.
fn send(on_chunk: &js_sys::Function, json: Option<String>) -> bool {
    let arg = json.map_or(JsValue::UNDEFINED, |j| JsValue::from_str(&j));
    on_chunk
        .call1(&JsValue::NULL, &arg)
        .map(|v| v.as_bool() != Some(false))
        .unwrap_or(false)
}

#[wasm_bindgen]
impl WebEngine {
    /// Names `url` as the model in answers.
    pub fn set_url(&mut self, url: String) {
        self.url = url;
    }

    /// A chat turn: `request_json` is a hearth_protocol::Request (`messages`, sampling,
    /// `tools`, `stream`). Each token calls `on_chunk(json)`: the JSON text of a
    /// `chat.completion.chunk` when streaming, else nothing (undefined); it returning false
    /// stops the answer. Returns the JSON text of the `chat.completion`, or the stream's
    /// last chunk. A conversation too long for the context loses its oldest turns (never
    /// the system messages or the last turn): `dropped_messages` says how many messages.
    pub async fn chat(
        &mut self,
        request_json: String,
        on_chunk: js_sys::Function,
    ) -> Result<String, JsError> {
        let r = request(&request_json)?;
        let (tools, prompt, dropped) = self.chat_prompt(&r)?;
        let meta = self.meta("chatcmpl");
        let stream = r.stream == Some(true);
        let on_piece = |piece: &str, id: Option<u32>| {
            send(
                &on_chunk,
                stream.then(|| to_json(&openai::chat_chunk(&meta, piece, id))),
            )
        };
        let wanted = || send(&on_chunk, None);
        let mut a = self
            .run(prompt, &r, tools.as_ref(), wanted, on_piece)
            .await?;
        a.dropped_messages = dropped;
        Ok(if stream {
            to_json(&openai::chat_last_chunk(&meta, &a))
        } else {
            to_json(&openai::chat_completion(&meta, &a))
        })
    }

    /// A plain completion of `prompt` (text, tokenized as written with special tokens
    /// parsed and a BOS where the model wants one, or token ids), answered as `chat` is
    /// with `text_completion` objects.
    pub async fn complete(
        &mut self,
        request_json: String,
        on_chunk: js_sys::Function,
    ) -> Result<String, JsError> {
        let r = request(&request_json)?;
        if r.tools.as_ref().is_some_and(|t| !t.is_empty()) || r.tool_choice.is_some() {
            return Err(JsError::new(
                "tools need a chat: a completion has no template",
            ));
        }
        let prompt = match &r.prompt {
            Some(Prompt::Text(t)) => self.tok.encode(t, self.tok.add_bos(), true).map_err(js)?,
            Some(Prompt::Ids(ids)) => {
                let n = self.session.config().n_vocab as u32;
                if let Some(bad) = ids.iter().find(|&&id| id >= n) {
                    return Err(JsError::new(&format!("token id {bad} is not below {n}")));
                }
                ids.clone()
            }
            None => return Err(JsError::new("a completion needs a prompt")),
        };
        let meta = self.meta("cmpl");
        let stream = r.stream == Some(true);
        let on_piece = |piece: &str, id: Option<u32>| {
            send(
                &on_chunk,
                stream.then(|| to_json(&openai::text_chunk(&meta, piece, id))),
            )
        };
        let wanted = || send(&on_chunk, None);
        let a = self.run(prompt, &r, None, wanted, on_piece).await?;
        Ok(if stream {
            to_json(&openai::text_last_chunk(&meta, &a))
        } else {
            to_json(&openai::text_completion(&meta, &a))
        })
    }

    /// The ids of `text` as `hearth tokenize` gives them (a BOS where the model wants
    /// one; special-token text is not parsed).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, JsError> {
        self.tok.encode(text, self.tok.add_bos(), false).map_err(js)
    }

    /// JSON facts about the engine: model name, architecture and family, sizes, backend and why, context; on the
    /// GPU the adapter, KV cache type and matvec kernel; on the CPU the threads and
    /// instruction set.
    pub fn info(&self) -> String {
        let c = self.session.config();
        let mut info = EngineInfo {
            name: self.name.clone(),
            architecture: c.arch.name().to_string(),
            family: c.arch.family().to_string(),
            n_layer: c.n_layer,
            n_embd: c.n_embd,
            n_vocab: c.n_vocab,
            n_ctx: self.session.capacity(),
            backend_reason: self.why.clone(),
            ..EngineInfo::default()
        };
        match &self.session {
            Runner::Gpu { model, .. } => {
                info.backend = "gpu";
                info.adapter = Some(model.gpu.adapter_name());
                info.kv_cache = format!("{:?}", model.gpu.kv_type);
                // the decode matvec's kernel
                info.matvec = Some(match model.gpu.matvec_kernel() {
                    hearth_gpu::Kernel::MatvecRowwise => "rowwise",
                    hearth_gpu::Kernel::MatvecSubgroup => "subgroup",
                    _ => "shared",
                });
                info.weight_bytes = model.weight_bytes_per_token();
                // pipelines created: the load creates every one a chat uses, and the GPU
                // process compiles them from then on (hearth_gpu::warm_pipelines)
                info.pipelines = Some(model.gpu.pipeline_stats().count);
            }
            Runner::Cpu(s) => {
                info.backend = "cpu";
                info.threads = Some(s.model().threads());
                info.threads_note = Some(if cfg!(feature = "threads") {
                    "wasm threads (the page is cross-origin isolated)"
                } else {
                    "one thread: the page is not cross-origin isolated (no SharedArrayBuffer)"
                });
                info.isa = Some(hearth_cpu::kernel::isa());
                info.kv_cache = "F32".into();
                info.weight_bytes = s.model().weight_bytes_per_token();
            }
        }
        to_json(&info)
    }

    /// The logits after `ids` (a fresh context: the conversation is forgotten), for
    /// checking the browser's numerics against the native engine's.
    pub async fn logits(&mut self, ids: Vec<u32>) -> Result<Vec<f32>, JsError> {
        self.reset();
        let out = self.session.forward_last(&ids).await;
        self.reset();
        out.map_err(|e| JsError::new(&e))
    }

    /// Destroys the GPU device, as a driver reset or a crashed GPU process would: for
    /// testing the recovery from a lost device (an error on the CPU engine).
    pub fn lose_device(&self) -> Result<(), JsError> {
        match &self.session {
            Runner::Gpu { model, .. } => {
                model.gpu.device.destroy();
                Ok(())
            }
            Runner::Cpu(_) => Err(JsError::new("the CPU engine has no GPU device to lose")),
        }
    }

    /// The ids whose keys and values the context holds (what a snapshot would keep).
    pub fn held_ids(&self) -> Vec<u32> {
        self.conv.held().to_vec()
    }

    /// Bytes of one position of the context's keys and values (hearth_model::kv_snapshot),
    /// and so what a snapshot of this engine is made of: its backend, its KV type.
    pub fn kv_position_bytes(&self) -> usize {
        self.session.position_bytes()
    }

    /// The keys and values of the held positions `[from, to)` as snapshot bytes.
    pub async fn export_kv(&mut self, from: usize, to: usize) -> Result<Vec<u8>, JsError> {
        let to = to.min(self.conv.held().len());
        self.session.export_kv(from, to).await.map_err(js)
    }

    /// Puts a snapshot back: `ids` and their keys and values (`bytes`, from
    /// `export_kv` of an engine of the same model, backend and KV type) at position
    /// `at`, as if they had been run; a later request that begins with them prefills only
    /// what follows.
    pub fn restore_kv(&mut self, at: usize, ids: Vec<u32>, bytes: &[u8]) -> Result<(), JsError> {
        self.conv
            .restore(&mut self.session, at, &ids, bytes)
            .map_err(js)
    }

    /// The prompt ids of a chat request (what `chat` would run, older turns dropped as it
    /// would drop them), for finding a snapshot that begins it.
    pub fn chat_prompt_ids(&self, request_json: String) -> Result<Vec<u32>, JsError> {
        Ok(self.chat_prompt(&request(&request_json)?)?.1)
    }

    /// Forgets the context (a new conversation).
    pub fn reset(&mut self) {
        self.conv.reset(&mut self.session);
    }
}
