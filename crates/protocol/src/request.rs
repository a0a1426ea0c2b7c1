//! A chat or completion request, in the OpenAI client's names: what the engine takes.
//! Fields it does not know (`model`, `user`, …) are ignored, as OpenAI-compatible servers
//! do; the sampling fields' defaults are [`crate::sampling`]'s.

use serde::Deserialize;
use serde_json::Value;

use crate::Message;

/// A chat (`messages`) or completion (`prompt`) request.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct Request {
    /// OpenAI's messages: roles, text content, `tool_calls`, `tool_call_id`, `name`.
    #[serde(default)]
    #[cfg_attr(test, ts(optional, as = "Option<Vec<Message>>"))]
    pub messages: Vec<Message>,
    /// Text, or token ids, for a completion.
    #[serde(default)]
    pub prompt: Option<Prompt>,
    /// Chunks as they come (the stream's last chunk carries the finish and usage).
    #[serde(default)]
    pub stream: Option<bool>,
    /// 0 picks the most likely token (greedy, the default).
    #[serde(default)]
    pub temperature: Option<f32>,
    #[serde(default)]
    pub top_p: Option<f32>,
    #[serde(default)]
    pub top_k: Option<usize>,
    #[serde(default)]
    pub min_p: Option<f32>,
    #[serde(default)]
    pub repetition_penalty: Option<f32>,
    /// Default: what the context has room for.
    #[serde(default)]
    pub max_tokens: Option<usize>,
    /// Seed of the random draws (default 0): the same seed gives the same tokens.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Holds the answer to a format (docs/structured-output.md); a schema or grammar the
    /// engine rejects is an error before any token.
    #[serde(default)]
    #[cfg_attr(test, ts(optional, type = "ResponseFormat"))]
    pub response_format: Option<Value>,
    /// The answer ends before the first of these (a string or up to 4), which is not part
    /// of it; finish_reason "stop".
    #[serde(default)]
    pub stop: Option<Stops>,
    /// Each answer token's log-probability under the model (before any mask, penalty or
    /// temperature), with `top_logprobs` (0..20) alternatives: `choices[0].logprobs` of
    /// the whole answer (not of stream chunks).
    #[serde(default)]
    pub logprobs: Option<bool>,
    #[serde(default)]
    pub top_logprobs: Option<usize>,
    /// Functions the model may call (docs/structured-output.md).
    #[serde(default)]
    #[cfg_attr(test, ts(optional, type = "Tool[]"))]
    pub tools: Option<Vec<Value>>,
    /// "auto" (the default with tools), "none", "required" or a named function.
    #[serde(default)]
    #[cfg_attr(test, ts(optional, type = "ToolChoice"))]
    pub tool_choice: Option<Value>,
    /// Default true: a held answer may make several calls where the format allows.
    #[serde(default)]
    pub parallel_tool_calls: Option<bool>,
}

/// OpenAI's `stop`: one string or several.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(untagged)]
pub enum Stops {
    One(String),
    Many(Vec<String>),
}

impl Stops {
    /// The stop strings.
    pub fn list(&self) -> Vec<String> {
        match self {
            Stops::One(s) => vec![s.clone()],
            Stops::Many(v) => v.clone(),
        }
    }
}

/// A completion's prompt: text, or token ids.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(untagged)]
pub enum Prompt {
    Text(String),
    Ids(Vec<u32>),
}

impl Request {
    /// A request from its JSON text, with the reason when it is not one.
    pub fn parse(json: &str) -> Result<Request, String> {
        serde_json::from_str(json).map_err(|e| format!("bad request: {e}"))
    }
}
