//! What the engine answers, and the one place it takes OpenAI's shapes: `chat.completion`,
//! `chat.completion.chunk` and `text_completion` objects, with hearth's extensions
//! (`token_ids`, `token_id`, `dropped_messages`).

use serde::Serialize;
use serde_json::Value;

/// Why an answer ended: "stop": end of generation (or a constrained answer complete);
/// "length": max_tokens or the context's end; "abort": signal; "no_legal_token": the
/// response_format left no token; "tool_calls": the answer called tools
/// (`message.tool_calls`).
pub const FINISH_REASONS: [&str; 5] = ["stop", "length", "abort", "no_legal_token", "tool_calls"];

/// What a request produced, before it is shaped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answer {
    pub text: String,
    pub token_ids: Vec<u32>,
    pub prompt_tokens: usize,
    /// Of those, the ones the context already held.
    pub cached_tokens: usize,
    pub completion_tokens: usize,
    /// See [`FINISH_REASONS`].
    pub finish_reason: &'static str,
    /// With `tools`: the calls the answer made (`{id, type, function: {name, arguments}}`);
    /// `text` is then the content around them.
    pub tool_calls: Option<Vec<Value>>,
    /// Chat messages left out, oldest first, for the prompt to fit the context.
    pub dropped_messages: usize,
    /// With `logprobs`: `{content: [{token, logprob, bytes, top_logprobs}]}`.
    pub logprobs: Option<Value>,
}

/// What every object of one answer shares.
#[derive(Clone, Debug)]
pub struct Meta {
    /// `chatcmpl-N` or `cmpl-N`.
    pub id: String,
    /// Seconds since 1970.
    pub created: u64,
    /// The model's URL.
    pub model: String,
}

/// Tokens of the prompt and the answer.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Usage {
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub total_tokens: usize,
    /// Of the prompt's tokens, those the context already held (an earlier turn's, or a
    /// restored snapshot's): OpenAI's name.
    pub prompt_tokens_details: PromptTokensDetails,
}

/// [`Usage::prompt_tokens_details`].
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PromptTokensDetails {
    pub cached_tokens: usize,
}

/// A chat answer, whole.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ChatCompletion {
    pub id: String,
    #[cfg_attr(test, ts(type = "\"chat.completion\""))]
    pub object: &'static str,
    pub created: u64,
    pub model: String,
    pub choices: Vec<ChatChoice>,
    pub usage: Usage,
    /// hearth's extension: messages left out (oldest turns first; never the system
    /// messages or the last turn) for the conversation to fit the context.
    pub dropped_messages: usize,
}

/// The one choice of a chat answer.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ChatChoice {
    #[cfg_attr(test, ts(type = "0"))]
    pub index: u32,
    pub message: AssistantMessage,
    #[cfg_attr(test, ts(type = "FinishReason"))]
    pub finish_reason: &'static str,
    /// hearth's extension: the generated token ids.
    pub token_ids: Vec<u32>,
    #[cfg_attr(test, ts(type = "{ content: TokenLogprob[] } | null"))]
    pub logprobs: Option<Value>,
}

/// The answer's message: `content` is null when the answer is calls only.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AssistantMessage {
    #[cfg_attr(test, ts(type = "\"assistant\""))]
    pub role: &'static str,
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional, type = "ToolCall[]"))]
    pub tool_calls: Option<Vec<Value>>,
}

/// One piece of a streamed chat answer; the last has the finish, the usage and any calls.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ChatCompletionChunk {
    pub id: String,
    #[cfg_attr(test, ts(type = "\"chat.completion.chunk\""))]
    pub object: &'static str,
    pub created: u64,
    pub model: String,
    pub choices: Vec<ChunkChoice>,
    /// On the last chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub usage: Option<Usage>,
    /// On the last chunk (hearth's extension, as in [`ChatCompletion`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub dropped_messages: Option<usize>,
}

/// A chunk's choice: text in `delta.content`, or on the last the calls and the finish.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ChunkChoice {
    #[cfg_attr(test, ts(type = "0"))]
    pub index: u32,
    pub delta: Delta,
    #[cfg_attr(test, ts(type = "FinishReason | null"))]
    pub finish_reason: Option<&'static str>,
    /// hearth's extension: the token this piece ends (null for text held back until the
    /// end, such as the tail of a stop string's prefix).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub token_id: Option<Option<u32>>,
}

/// What a chunk adds.
#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Delta {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub content: Option<String>,
    /// The answer's calls, whole, each with its `index` (the last chunk).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional, type = "(ToolCall & { index: number })[]"))]
    pub tool_calls: Option<Vec<Value>>,
}

/// A text completion, whole or (`stream`) one piece of it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TextCompletion {
    pub id: String,
    #[cfg_attr(test, ts(type = "\"text_completion\""))]
    pub object: &'static str,
    pub created: u64,
    pub model: String,
    pub choices: Vec<TextChoice>,
    /// On a whole answer and on a stream's last piece.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub usage: Option<Usage>,
}

/// A text completion's choice.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TextChoice {
    #[cfg_attr(test, ts(type = "0"))]
    pub index: u32,
    pub text: String,
    /// The tokens of `text` (absent on a stream's last piece).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub token_ids: Option<Vec<u32>>,
    #[cfg_attr(test, ts(type = "FinishReason | null"))]
    pub finish_reason: Option<&'static str>,
    /// On a whole answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional, type = "{ content: TokenLogprob[] } | null"))]
    pub logprobs: Option<Option<Value>>,
}

fn usage(a: &Answer) -> Usage {
    Usage {
        prompt_tokens: a.prompt_tokens,
        completion_tokens: a.completion_tokens,
        total_tokens: a.prompt_tokens + a.completion_tokens,
        prompt_tokens_details: PromptTokensDetails {
            cached_tokens: a.cached_tokens,
        },
    }
}

/// A whole chat answer.
pub fn chat_completion(m: &Meta, a: &Answer) -> ChatCompletion {
    let calls = a.tool_calls.clone().filter(|c| !c.is_empty());
    // OpenAI writes `content: null` beside calls only
    let content = match &calls {
        Some(_) if a.text.is_empty() => None,
        _ => Some(a.text.clone()),
    };
    ChatCompletion {
        id: m.id.clone(),
        object: "chat.completion",
        created: m.created,
        model: m.model.clone(),
        choices: vec![ChatChoice {
            index: 0,
            message: AssistantMessage {
                role: "assistant",
                content,
                tool_calls: calls,
            },
            finish_reason: a.finish_reason,
            token_ids: a.token_ids.clone(),
            logprobs: a.logprobs.clone(),
        }],
        usage: usage(a),
        dropped_messages: a.dropped_messages,
    }
}

/// A streamed piece of a chat answer: `piece` ends token `token` (None: held-back text).
pub fn chat_chunk(m: &Meta, piece: &str, token: Option<u32>) -> ChatCompletionChunk {
    ChatCompletionChunk {
        id: m.id.clone(),
        object: "chat.completion.chunk",
        created: m.created,
        model: m.model.clone(),
        choices: vec![ChunkChoice {
            index: 0,
            delta: Delta {
                content: Some(piece.to_string()),
                tool_calls: None,
            },
            finish_reason: None,
            token_id: Some(token),
        }],
        usage: None,
        dropped_messages: None,
    }
}

/// A chat stream's last chunk: the calls (each with its index), the finish, the usage.
pub fn chat_last_chunk(m: &Meta, a: &Answer) -> ChatCompletionChunk {
    let calls = a.tool_calls.as_ref().filter(|c| !c.is_empty()).map(|c| {
        c.iter()
            .enumerate()
            .map(|(i, call)| {
                let mut call = call.clone();
                if let Some(o) = call.as_object_mut() {
                    o.insert("index".into(), i.into());
                }
                call
            })
            .collect()
    });
    ChatCompletionChunk {
        id: m.id.clone(),
        object: "chat.completion.chunk",
        created: m.created,
        model: m.model.clone(),
        choices: vec![ChunkChoice {
            index: 0,
            delta: Delta {
                content: None,
                tool_calls: calls,
            },
            finish_reason: Some(a.finish_reason),
            token_id: None,
        }],
        usage: Some(usage(a)),
        dropped_messages: Some(a.dropped_messages),
    }
}

/// A whole text completion.
pub fn text_completion(m: &Meta, a: &Answer) -> TextCompletion {
    text(
        m,
        TextChoice {
            index: 0,
            text: a.text.clone(),
            token_ids: Some(a.token_ids.clone()),
            finish_reason: Some(a.finish_reason),
            logprobs: Some(a.logprobs.clone()),
        },
        Some(usage(a)),
    )
}

/// A streamed piece of a text completion.
pub fn text_chunk(m: &Meta, piece: &str, token: Option<u32>) -> TextCompletion {
    let choice = TextChoice {
        index: 0,
        text: piece.to_string(),
        token_ids: Some(token.into_iter().collect()),
        finish_reason: None,
        logprobs: None,
    };
    text(m, choice, None)
}

/// A text stream's last piece: the finish and the usage.
pub fn text_last_chunk(m: &Meta, a: &Answer) -> TextCompletion {
    let choice = TextChoice {
        index: 0,
        text: String::new(),
        token_ids: None,
        finish_reason: Some(a.finish_reason),
        logprobs: None,
    };
    text(m, choice, Some(usage(a)))
}

fn text(m: &Meta, choice: TextChoice, usage: Option<Usage>) -> TextCompletion {
    TextCompletion {
        id: m.id.clone(),
        object: "text_completion",
        created: m.created,
        model: m.model.clone(),
        choices: vec![choice],
        usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta() -> Meta {
        Meta {
            id: "chatcmpl-7".into(),
            created: 1_700_000_000,
            model: "http://127.0.0.1/m.gguf".into(),
        }
    }

    /// The shapes of OpenAI's API reference (chat/create, its streaming and tool-call
    /// examples), with hearth's extensions.
    #[test]
    fn chat_shapes_are_openais() {
        let a = Answer {
            text: "Paris.".into(),
            token_ids: vec![5, 6],
            prompt_tokens: 10,
            cached_tokens: 4,
            completion_tokens: 2,
            finish_reason: "stop",
            ..Answer::default()
        };
        let whole = serde_json::to_value(chat_completion(&meta(), &a)).unwrap();
        assert_eq!(
            whole,
            json!({
                "id": "chatcmpl-7", "object": "chat.completion", "created": 1_700_000_000u64,
                "model": "http://127.0.0.1/m.gguf",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."},
                    "finish_reason": "stop", "token_ids": [5, 6], "logprobs": null}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12,
                    "prompt_tokens_details": {"cached_tokens": 4}},
                "dropped_messages": 0,
            })
        );
        let piece = serde_json::to_value(chat_chunk(&meta(), "Par", Some(5))).unwrap();
        assert_eq!(
            piece["choices"],
            json!([{"index": 0, "delta": {"content": "Par"}, "finish_reason": null, "token_id": 5}])
        );
        assert!(piece.get("usage").is_none());
        let held = serde_json::to_value(chat_chunk(&meta(), "s", None)).unwrap();
        assert_eq!(held["choices"][0]["token_id"], json!(null));
        let last = serde_json::to_value(chat_last_chunk(&meta(), &a)).unwrap();
        assert_eq!(
            last["choices"],
            json!([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        );
        assert_eq!(last["usage"]["total_tokens"], 12);
    }

    #[test]
    fn calls_only_answers_have_null_content_and_indexed_deltas() {
        let call = json!({"id": "call_0", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}});
        let a = Answer {
            finish_reason: "tool_calls",
            tool_calls: Some(vec![call.clone()]),
            ..Answer::default()
        };
        let whole = serde_json::to_value(chat_completion(&meta(), &a)).unwrap();
        assert_eq!(
            whole["choices"][0]["message"],
            json!({"role": "assistant", "content": null, "tool_calls": [call]})
        );
        let last = serde_json::to_value(chat_last_chunk(&meta(), &a)).unwrap();
        assert_eq!(last["choices"][0]["delta"]["tool_calls"][0]["index"], 0);
        assert_eq!(
            last["choices"][0]["delta"]["tool_calls"][0]["function"]["name"],
            "get_weather"
        );
        // no calls made: a plain message, even when tools were offered
        let none = Answer {
            text: "Hi".into(),
            tool_calls: Some(vec![]),
            ..a
        };
        let m = serde_json::to_value(chat_completion(&meta(), &none)).unwrap();
        assert_eq!(
            m["choices"][0]["message"],
            json!({"role": "assistant", "content": "Hi"})
        );
    }

    #[test]
    fn text_shapes_are_openais() {
        let a = Answer {
            text: " blue".into(),
            token_ids: vec![9],
            prompt_tokens: 4,
            completion_tokens: 1,
            finish_reason: "length",
            ..Answer::default()
        };
        let whole = serde_json::to_value(text_completion(&meta(), &a)).unwrap();
        assert_eq!(
            whole["choices"],
            json!([{"index": 0, "text": " blue", "token_ids": [9], "finish_reason": "length", "logprobs": null}])
        );
        let piece = serde_json::to_value(text_chunk(&meta(), " bl", None)).unwrap();
        assert_eq!(
            piece["choices"],
            json!([{"index": 0, "text": " bl", "token_ids": [], "finish_reason": null}])
        );
        let last = serde_json::to_value(text_last_chunk(&meta(), &a)).unwrap();
        assert_eq!(
            last["choices"],
            json!([{"index": 0, "text": "", "finish_reason": "length"}])
        );
        assert_eq!(last["usage"]["total_tokens"], 5);
    }
}
