//! One chat message in OpenAI's shape, as requests carry it and chat templates read it.

use serde::{Deserialize, Serialize};

/// One chat message in OpenAI's shape: a role (`system`, `user`, `assistant`, `tool`, …),
/// its text, and for tool use the assistant's calls or the call a `tool` message answers.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Message {
    /// Who speaks: `system`, `user`, `assistant`, `tool` (templates may know other roles).
    pub role: String,
    /// What is said, verbatim. OpenAI's `null` (an assistant turn of calls only) reads as
    /// empty, and an array of `{type: "text", text}` parts as their texts joined.
    #[serde(default, deserialize_with = "content_text")]
    #[cfg_attr(test, ts(type = "string | null | { type: \"text\"; text: string }[]"))]
    pub content: String,
    /// The assistant's calls: `[{id, type: "function", function: {name, arguments}}]`,
    /// `arguments` a JSON string as OpenAI writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional, type = "ToolCall[]"))]
    pub tool_calls: Option<Vec<serde_json::Value>>,
    /// For `role: "tool"`: the id of the call this message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub tool_call_id: Option<String>,
    /// For `role: "tool"`: the function's name (some templates print it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub name: Option<String>,
}

/// OpenAI's `content`: a string, `null`, or text parts.
fn content_text<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    use serde::de::Error as _;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(String::new()),
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Array(parts) => parts
            .iter()
            .map(
                |p| match (p.get("type").and_then(|t| t.as_str()), p.get("text")) {
                    (Some("text"), Some(serde_json::Value::String(t))) => Ok(t.as_str()),
                    _ => Err(D::Error::custom(
                        "a content part must be {type: \"text\", text}: hearth reads text only",
                    )),
                },
            )
            .collect::<std::result::Result<Vec<_>, _>>()
            .map(|t| t.concat()),
        _ => Err(D::Error::custom(
            "content must be a string, null or text parts",
        )),
    }
}

impl Message {
    /// A message with any role.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Message {
        Message {
            role: role.into(),
            content: content.into(),
            ..Message::default()
        }
    }

    /// A `system` message.
    pub fn system(content: impl Into<String>) -> Message {
        Message::new("system", content)
    }

    /// A `user` message.
    pub fn user(content: impl Into<String>) -> Message {
        Message::new("user", content)
    }

    /// An `assistant` message.
    pub fn assistant(content: impl Into<String>) -> Message {
        Message::new("assistant", content)
    }
}
