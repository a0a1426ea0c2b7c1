//! How a model's chat template writes tool calls (its [`ToolFormat`]), the grammar that
//! holds an answer to calls when one is required, and the parser that turns an answer back
//! into calls.
//!
//! Formats, as the templates and model cards define them:
//! * **Hermes** (Qwen2/2.5, Hermes, SmolLM3; templates that mention `<tool_call>`):
//!   `<tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>`, one block per call.
//! * **Llama 3.1/3.2 JSON** (templates with `<|python_tag|>` or Llama 3 headers and
//!   `tools`): the answer is `{"name": …, "parameters": {…}}` (calls separated by `;`),
//!   optionally after `<|python_tag|>`.
//! * **Mistral** (templates with `[TOOL_CALLS]`): `[TOOL_CALLS] [{"name": …, "arguments":
//!   {…}}, …]`.
//! * **Fallback** (templates without tools): the tools are described in a system message
//!   and the answer is `{"name": …, "arguments": {…}}`.
//!
//! A held call is written the way templates print past calls (Python's `json.dumps`:
//! `", "` and `": "` separators, no other whitespace), so the model's answer and the
//! history it reads later agree.

use serde_json::{Value, json};

use crate::{ModelError, Result};

/// How a model writes its tool calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolFormat {
    Hermes,
    Llama3Json,
    Mistral,
    Fallback,
}

/// One call the model made, in OpenAI's terms.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolCall {
    /// Nine letters and digits (what Mistral's template insists on), from the answer's
    /// text and the call's place in it.
    pub id: String,
    pub name: String,
    /// The arguments as a JSON string (OpenAI's `function.arguments`).
    pub arguments: String,
}

impl ToolCall {
    /// OpenAI's `{id, type: "function", function: {name, arguments}}`.
    pub fn to_openai(&self) -> Value {
        json!({
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        })
    }
}

/// A call id: nine base-36 digits of an FNV-1a hash of the answer and the call's index.
fn call_id(text: &str, n: usize) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    // n as u64: the same id on 32- and 64-bit targets (wasm32 and native)
    for b in text.bytes().chain((n as u64).to_le_bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..9)
        .map(|_| {
            let d = DIGITS[(h % 36) as usize] as char;
            h /= 36;
            d
        })
        .collect()
}

impl ToolFormat {
    /// The format the chat template `source` writes calls in.
    pub fn of_template(source: &str) -> ToolFormat {
        if source.contains("<tool_call>") {
            ToolFormat::Hermes
        } else if source.contains("[TOOL_CALLS]") {
            ToolFormat::Mistral
        } else if source.contains("<|python_tag|>")
            || (source.contains("<|start_header_id|>") && source.contains("tools"))
        {
            ToolFormat::Llama3Json
        } else {
            ToolFormat::Fallback
        }
    }

    /// The key a call's arguments go under.
    fn arguments_key(self) -> &'static str {
        match self {
            ToolFormat::Llama3Json => "parameters",
            _ => "arguments",
        }
    }

    /// A Lark grammar (llguidance's) that holds an answer to calls of `tools` (OpenAI's
    /// `[{type: "function", function: {name, description, parameters}}]`), or of the one
    /// named `only`: one call, or with `parallel` one or more where the format has room.
    pub fn call_grammar(
        self,
        tools: &[Value],
        only: Option<&str>,
        parallel: bool,
    ) -> Result<String> {
        let key = self.arguments_key();
        let mut calls = Vec::new();
        for t in tools {
            let f = function_of(t)?;
            let name = f["name"].as_str().unwrap_or_default();
            if only.is_some_and(|o| o != name) {
                continue;
            }
            let params = match f.get("parameters") {
                Some(p) if !p.is_null() => p.clone(),
                _ => json!({"type": "object"}),
            };
            calls.push(json!({
                "type": "object",
                "properties": {"name": {"const": name}, key: params},
                "required": ["name", key],
                "additionalProperties": false
            }));
        }
        if calls.is_empty() {
            return Err(ModelError::Request(match only {
                Some(o) => format!("tool_choice names {o:?}, which is not among the tools"),
                None => "tool_choice requires a call, but there are no tools".into(),
            }));
        }
        let call = json!({
            "anyOf": calls,
            "x-guidance": {"item_separator": ", ", "key_separator": ": ", "whitespace_flexible": false}
        });
        let more = |sep: &str, item: &str| match parallel {
            true => format!("({sep:?} {item})*"),
            false => String::new(),
        };
        let call = serde_json::to_string(&call).map_err(|e| ModelError::Request(e.to_string()))?;
        Ok(match self {
            ToolFormat::Hermes => format!(
                "start: block {}\nblock: \"<tool_call>\\n\" call \"\\n</tool_call>\"\ncall: %json {call}\n",
                more("\n", "block")
            ),
            ToolFormat::Mistral => format!(
                "start: \"[TOOL_CALLS] [\" call {} \"]\"\ncall: %json {call}\n",
                more(", ", "call")
            ),
            ToolFormat::Llama3Json | ToolFormat::Fallback => {
                format!("start: call\ncall: %json {call}\n")
            }
        })
    }

    /// Splits `text` (a whole answer) into its content and the calls it makes; text that
    /// is no well-formed call stays content, and content beside calls is trimmed.
    pub fn parse(self, text: &str) -> (String, Vec<ToolCall>) {
        let (content, calls) = self.parse_raw(text);
        match calls.is_empty() {
            true => (content, calls),
            false => (content.trim().to_string(), calls),
        }
    }

    /// [`parse`](Self::parse) with the content as the answer has it, untrimmed.
    pub(crate) fn parse_raw(self, text: &str) -> (String, Vec<ToolCall>) {
        let mut objects = Vec::new();
        let mut content = String::new();
        match self {
            ToolFormat::Hermes => {
                let mut rest = text;
                while let Some(start) = rest.find("<tool_call>") {
                    let after = &rest[start + "<tool_call>".len()..];
                    let Some(end) = after.find("</tool_call>") else {
                        break;
                    };
                    match serde_json::from_str::<Value>(after[..end].trim()) {
                        Ok(v) => {
                            content.push_str(&rest[..start]);
                            objects.push(v);
                        }
                        Err(_) => content.push_str(&rest[..start + "<tool_call>".len() + end]),
                    }
                    rest = &after[end + "</tool_call>".len()..];
                }
                content.push_str(rest);
            }
            ToolFormat::Mistral => match text.trim_start().strip_prefix("[TOOL_CALLS]") {
                Some(calls) => match serde_json::from_str::<Value>(calls.trim()) {
                    Ok(Value::Array(a)) => objects = a,
                    _ => content.push_str(text),
                },
                None => content.push_str(text),
            },
            ToolFormat::Llama3Json | ToolFormat::Fallback => {
                let body = text.trim();
                let body = body.strip_prefix("<|python_tag|>").unwrap_or(body);
                let parsed: Option<Vec<Value>> = body
                    .split(';')
                    .map(|p| serde_json::from_str::<Value>(p.trim()).ok())
                    .collect();
                match parsed {
                    Some(v) if v.iter().all(|o| o.get("name").is_some()) => objects = v,
                    _ => content.push_str(text),
                }
            }
        }
        let key = self.arguments_key();
        let mut calls = Vec::new();
        for o in objects {
            let (Some(name), Some(args)) = (o.get("name").and_then(Value::as_str), o.get(key))
            else {
                content.push_str(&o.to_string());
                continue;
            };
            calls.push(ToolCall {
                id: call_id(text, calls.len()),
                name: name.to_string(),
                arguments: args.to_string(),
            });
        }
        (content, calls)
    }
}

/// The `function` of an OpenAI tool, checked: `{type: "function", function: {name, …}}`.
fn function_of(tool: &Value) -> Result<&Value> {
    let f = tool
        .get("function")
        .filter(|_| {
            tool.get("type")
                .and_then(Value::as_str)
                .unwrap_or("function")
                == "function"
        })
        .ok_or_else(|| ModelError::Request("a tool is {type: \"function\", function}".into()))?;
    match f.get("name").and_then(Value::as_str) {
        Some(n) if !n.is_empty() => Ok(f),
        _ => Err(ModelError::Request("a tool's function needs a name".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: &str) -> (String, String) {
        (name.into(), args.into())
    }

    fn calls(c: Vec<ToolCall>) -> Vec<(String, String)> {
        c.into_iter().map(|c| (c.name, c.arguments)).collect()
    }

    #[test]
    fn formats_are_told_from_the_template() {
        for (source, format) in [
            ("{{ '<tool_call>\\n' }}", ToolFormat::Hermes),
            ("[TOOL_CALLS] {{ x }}", ToolFormat::Mistral),
            ("<|python_tag|>", ToolFormat::Llama3Json),
            ("<|im_start|>{{ m }}", ToolFormat::Fallback),
        ] {
            assert_eq!(ToolFormat::of_template(source), format, "{source}");
        }
    }

    #[test]
    fn calls_are_parsed_out_of_answers() {
        let h = "Let me check.\n<tool_call>\n{\"name\": \"weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
        let (content, found) = ToolFormat::Hermes.parse(h);
        assert_eq!(content, "Let me check.");
        assert_eq!(found[0].id.len(), 9);
        assert!(found[0].id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(calls(found), [call("weather", r#"{"city":"Paris"}"#)]);
        let l = "<|python_tag|>{\"name\": \"weather\", \"parameters\": {\"city\": \"Paris\"}}";
        assert_eq!(
            calls(ToolFormat::Llama3Json.parse(l).1),
            [call("weather", r#"{"city":"Paris"}"#)]
        );
        let m = "[TOOL_CALLS] [{\"name\": \"weather\", \"arguments\": {\"city\": \"Paris\"}}]";
        assert_eq!(
            calls(ToolFormat::Mistral.parse(m).1),
            [call("weather", r#"{"city":"Paris"}"#)]
        );
        // no call: all content
        let (content, found) = ToolFormat::Hermes.parse(" Paris is sunny.\n");
        assert_eq!((content.as_str(), found.len()), (" Paris is sunny.\n", 0));
        // a broken block stays content
        let (content, found) = ToolFormat::Hermes.parse("<tool_call>\n{oops}\n</tool_call>");
        assert!(found.is_empty() && content.contains("{oops}"));
        let (content, found) = ToolFormat::Fallback.parse("{\"city\": 1}");
        assert!(found.is_empty() && content == "{\"city\": 1}");
    }

    #[test]
    fn call_grammars_name_the_tools() {
        let tools = [json!({"type": "function", "function": {"name": "weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}})];
        let g = ToolFormat::Hermes.call_grammar(&tools, None, true).unwrap();
        assert!(
            g.contains("<tool_call>") && g.contains("\"const\":\"weather\""),
            "{g}"
        );
        assert!(
            ToolFormat::Hermes
                .call_grammar(&tools, Some("other"), true)
                .is_err()
        );
        assert!(ToolFormat::Hermes.call_grammar(&[], None, false).is_err());
        let nameless = [json!({"type": "function"})];
        assert!(
            ToolFormat::Fallback
                .call_grammar(&nameless, None, false)
                .is_err()
        );
    }
}
