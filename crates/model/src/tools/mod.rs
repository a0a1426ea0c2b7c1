//! Tool calling, OpenAI's way: a request's `tools`, `tool_choice` and
//! `parallel_tool_calls` become the chat template's `tools` variable (or, for templates
//! without tools, a system message), a constraint when a call is required, and a parser
//! that turns the answer into `tool_calls` (streamed by [`ToolStream`]).
//!
//! Decisions (docs/structured-output.md):
//! * `tool_choice: "none"` still renders the tools (the template and the conversation's
//!   past calls stay as the model knows them; vLLM's default too) but holds nothing and
//!   parses no calls: the answer is text.
//! * `"auto"` (the default with tools) leaves decoding free and parses what the model wrote;
//!   `"required"` and a named function hold the answer to the format's call syntax with
//!   each function's `parameters` schema.
//! * `parallel_tool_calls` (default true) lets a held answer make several calls where the
//!   format has room (Hermes blocks, Mistral's list); Llama 3.1's JSON is one call.
//! * Templates without tools (ChatML, Llama 3.0, …) get the [`ToolFormat::Fallback`]: the
//!   tools in a system message, past calls as the assistant's JSON, tool results as user
//!   messages.

mod format;
mod stream;

pub use format::{ToolCall, ToolFormat};
pub use stream::ToolStream;

use serde_json::{Value, json};

use crate::chat_template::Message;
use crate::constraint::Format;
use crate::{ModelError, Result};

/// OpenAI's `tool_choice`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    /// `{type: "function", function: {name}}`.
    Named(String),
}

impl ToolChoice {
    /// Reads `"auto" | "none" | "required" | {type: "function", function: {name}}`;
    /// absent is `auto`.
    pub fn from_value(v: Option<&Value>) -> Result<ToolChoice> {
        let bad = || {
            ModelError::Request(
                "tool_choice is \"auto\", \"none\", \"required\" or {type: \"function\", function: {name}}"
                    .into(),
            )
        };
        Ok(match v {
            None | Some(Value::Null) => ToolChoice::Auto,
            Some(Value::String(s)) => match s.as_str() {
                "auto" => ToolChoice::Auto,
                "none" => ToolChoice::None,
                "required" => ToolChoice::Required,
                _ => return Err(bad()),
            },
            Some(o) => match o.pointer("/function/name").and_then(Value::as_str) {
                Some(name) => ToolChoice::Named(name.to_string()),
                None => return Err(bad()),
            },
        })
    }
}

/// The tools of one request, for one chat template.
#[derive(Clone, Debug)]
pub struct Tools {
    tools: Vec<Value>,
    choice: ToolChoice,
    parallel: bool,
    format: ToolFormat,
}

impl Tools {
    /// The request's tools for the template `template_source`; `None` when there are no
    /// tools and none are required. Malformed tools, or a choice that names no tool, are
    /// errors here, before any token.
    pub fn new(
        tools: &[Value],
        choice: &ToolChoice,
        parallel: bool,
        template_source: &str,
    ) -> Result<Option<Tools>> {
        if tools.is_empty() && matches!(choice, ToolChoice::Auto | ToolChoice::None) {
            return Ok(None);
        }
        let format = ToolFormat::of_template(template_source);
        let t = Tools {
            tools: tools.to_vec(),
            choice: choice.clone(),
            parallel,
            format,
        };
        // checks every tool (and the named one) now
        format.call_grammar(&t.tools, t.only(), parallel)?;
        Ok(Some(t))
    }

    /// How this model writes calls.
    pub fn format(&self) -> ToolFormat {
        self.format
    }

    fn only(&self) -> Option<&str> {
        match &self.choice {
            ToolChoice::Named(n) => Some(n),
            _ => None,
        }
    }

    /// The template variables to render with (`tools`, as HF's `apply_chat_template`
    /// passes them); none for the fallback.
    pub fn template_extra(&self) -> serde_json::Map<String, Value> {
        let mut extra = serde_json::Map::new();
        if self.format != ToolFormat::Fallback {
            extra.insert("tools".into(), Value::Array(self.tools.clone()));
        }
        extra
    }

    /// The messages to render: as given, or for the fallback with the tools described in
    /// the system message and tool turns written as text the template can print.
    pub fn messages(&self, messages: &[Message]) -> Vec<Message> {
        if self.format != ToolFormat::Fallback {
            return messages.to_vec();
        }
        let mut out = Vec::with_capacity(messages.len() + 1);
        let mut rest = messages;
        if self.choice != ToolChoice::None {
            let tools = serde_json::to_string(&self.tools).unwrap_or_default();
            let mut about = format!(
                "You can call these functions (each one's arguments are described by its JSON \
                 Schema `parameters`):\n{tools}\nTo call a function, answer with only a JSON \
                 object {{\"name\": <function name>, \"arguments\": <arguments object>}}."
            );
            if self.choice == ToolChoice::Auto {
                about.push_str(" Otherwise answer normally.");
            }
            match messages.first() {
                Some(m) if m.role == "system" => {
                    out.push(Message::system(format!("{}\n\n{about}", m.content)));
                    rest = &messages[1..];
                }
                _ => out.push(Message::system(about)),
            }
        }
        for m in rest {
            out.push(match (m.role.as_str(), &m.tool_calls) {
                ("assistant", Some(calls)) => {
                    let text: Vec<String> = calls.iter().map(fallback_call_text).collect();
                    let mut content = m.content.clone();
                    if !content.is_empty() && !text.is_empty() {
                        content.push('\n');
                    }
                    content.push_str(&text.join("\n"));
                    Message::assistant(content)
                }
                ("tool", _) => Message::user(format!(
                    "The function {} returned: {}",
                    m.name.as_deref().unwrap_or("call"),
                    m.content
                )),
                _ => m.clone(),
            });
        }
        out
    }

    /// What holds the answer of a request that asked for format `asked` (a response
    /// format, or none) with `tools`: the format, or the call a required choice needs;
    /// both at once is an error.
    pub fn hold(tools: Option<&Tools>, asked: Option<Format>) -> Result<Option<Format>> {
        let call = match tools {
            Some(t) => t.constraint()?,
            None => None,
        };
        match (asked, call) {
            (Some(_), Some(_)) => Err(ModelError::Request(
                "a response format and a required tool call cannot both hold the answer".into(),
            )),
            (a, c) => Ok(a.or(c)),
        }
    }

    /// The constraint a call needs: `Some` when the choice requires one.
    pub fn constraint(&self) -> Result<Option<Format>> {
        match self.choice {
            ToolChoice::Required | ToolChoice::Named(_) => Ok(Some(Format::Lark(
                self.format
                    .call_grammar(&self.tools, self.only(), self.parallel)?,
            ))),
            ToolChoice::Auto | ToolChoice::None => Ok(None),
        }
    }

    /// The answer's content and its calls of this request's functions (a call of a name
    /// that is not among them stays content; with `tool_choice: "none"` all is content).
    pub fn parse(&self, text: &str) -> (String, Vec<ToolCall>) {
        if self.choice == ToolChoice::None {
            return (text.to_string(), Vec::new());
        }
        let (content, calls) = self.format.parse(text);
        let known = |c: &ToolCall| {
            self.tools
                .iter()
                .any(|t| t.pointer("/function/name").and_then(Value::as_str) == Some(&c.name))
        };
        if calls.iter().all(known) {
            (content, calls)
        } else {
            (text.to_string(), Vec::new())
        }
    }

    /// A streaming splitter of the answer's content from its calls (`None` when the
    /// answer is all content).
    pub fn stream(&self) -> Option<ToolStream> {
        (self.choice != ToolChoice::None).then(|| ToolStream::new(self.format))
    }

    /// The answer of `stream` is whole: the content it has not shown yet, and the calls
    /// ([`parse`](Self::parse)'s: a call of an unknown function is content).
    pub fn finish(&self, stream: &mut ToolStream) -> (String, Vec<ToolCall>) {
        let (content, calls) = self.parse(stream.text());
        (stream.rest(&content), calls)
    }
}

/// A past call as the fallback's assistant wrote it.
fn fallback_call_text(call: &Value) -> String {
    let f = call.get("function").unwrap_or(call);
    let args = match f.get("arguments") {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
        Some(v) => v.clone(),
        None => json!({}),
    };
    let name = f.get("name").cloned().unwrap_or_default();
    format!("{{\"name\": {name}, \"arguments\": {args}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weather() -> Value {
        json!({"type": "function", "function": {"name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}})
    }

    #[test]
    fn choices_are_read_as_openai_writes_them() {
        assert_eq!(ToolChoice::from_value(None).unwrap(), ToolChoice::Auto);
        assert_eq!(
            ToolChoice::from_value(Some(&json!("required"))).unwrap(),
            ToolChoice::Required
        );
        let named = json!({"type": "function", "function": {"name": "get_weather"}});
        assert_eq!(
            ToolChoice::from_value(Some(&named)).unwrap(),
            ToolChoice::Named("get_weather".into())
        );
        assert!(ToolChoice::from_value(Some(&json!("always"))).is_err());
        assert!(ToolChoice::from_value(Some(&json!({"type": "function"}))).is_err());
    }

    #[test]
    fn none_and_empty_are_plain_chats_and_bad_names_fail_early() {
        let t = [weather()];
        let none = Tools::new(&t, &ToolChoice::None, true, "")
            .unwrap()
            .unwrap();
        let call = r#"{"name": "get_weather", "arguments": {}}"#;
        assert!(none.parse(call).1.is_empty() && none.stream().is_none());
        assert!(none.constraint().unwrap().is_none());
        let asked = [Message::user("hi")];
        assert_eq!(none.messages(&asked), asked, "none describes no tools");
        assert!(
            Tools::new(&[], &ToolChoice::Auto, true, "")
                .unwrap()
                .is_none()
        );
        assert!(Tools::new(&[], &ToolChoice::Required, true, "").is_err());
        let other = ToolChoice::Named("other".into());
        assert!(Tools::new(&t, &other, true, "").is_err());
    }

    #[test]
    fn the_fallback_describes_tools_and_writes_tool_turns_as_text() {
        let tools = Tools::new(
            &[weather()],
            &ToolChoice::Auto,
            true,
            crate::chat_template::CHATML,
        )
        .unwrap()
        .unwrap();
        assert_eq!(tools.format(), ToolFormat::Fallback);
        assert!(tools.template_extra().is_empty());
        let call = json!({"id": "abc", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}});
        let messages = [
            Message::user("Weather in Paris?"),
            Message {
                role: "assistant".into(),
                tool_calls: Some(vec![call]),
                ..Message::default()
            },
            Message {
                role: "tool".into(),
                content: "21 degrees".into(),
                name: Some("get_weather".into()),
                tool_call_id: Some("abc".into()),
                ..Message::default()
            },
        ];
        let out = tools.messages(&messages);
        assert_eq!(out.len(), 4);
        assert!(out[0].role == "system" && out[0].content.contains("\"get_weather\""));
        assert_eq!(out[1], messages[0]);
        assert_eq!(
            out[2].content,
            r#"{"name": "get_weather", "arguments": {"city":"Paris"}}"#
        );
        assert_eq!(
            (out[3].role.as_str(), out[3].content.as_str()),
            ("user", "The function get_weather returned: 21 degrees")
        );
        // a call of an unknown function stays text
        let (content, calls) = tools.parse(r#"{"name": "other", "arguments": {}}"#);
        assert!(calls.is_empty() && content.contains("other"));
        let (_, calls) = tools.parse(r#"{"name": "get_weather", "arguments": {"city": "Oslo"}}"#);
        assert_eq!(calls[0].arguments, r#"{"city":"Oslo"}"#);
    }
}
