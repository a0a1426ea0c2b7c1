//! Chat templates: the GGUF's own `tokenizer.chat_template` (Jinja), rendered with
//! `minijinja` the way Hugging Face's `apply_chat_template` renders it.
//!
//! The environment mirrors transformers' `_compile_jinja_template`: `trim_blocks` and
//! `lstrip_blocks` on, a trailing newline dropped, loop controls (`break`/`continue`),
//! Python string/dict methods (`.strip()`, `.split()`, `.items()`, … via minijinja-contrib's
//! pycompat), `raise_exception(msg)`, a `tojson` that is Python's
//! `json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`,
//! `strftime_now(fmt)`, and the `{% generation %}` block (rendered as its plain body).
//! The context holds `messages`, `add_generation_prompt`, `bos_token`, `eos_token`, and
//! `tools`/`documents` (none), like HF's; [`ChatTemplate::render_with`] adds more variables.
//! `{{ x }}` prints none, booleans, floats, lists and dicts as Python's `str()` does.
//!
//! Message text is data: Jinja syntax inside it (`{{ }}`, `{% %}`) is printed literally,
//! never evaluated. A template that calls `raise_exception("…")` (e.g. Llama 2's "roles must
//! alternate") gives [`ModelError::Template`] carrying its message.
//!
//! Known differences from Jinja2 (none of them used by published chat templates we know):
//! `~`/`|string` print none and booleans the minijinja way (`none`, `true`), and the time of
//! `strftime_now` is UTC natively (the browser's local time in wasm).
//!
//! The rendered prompt may already start with the BOS token text (Llama 2/3 templates print
//! `bos_token`): tokenize it with special tokens parsed and without adding a second BOS.

mod python;
mod strftime;

use std::fmt;

use hearth_gguf::Metadata;
use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind};

use crate::{ModelError, Result};

/// The GGUF metadata key holding the template.
pub const GGUF_KEY: &str = "tokenizer.chat_template";

/// The template hearth uses when a model has none: plain ChatML, verbatim as published
/// with teknium/OpenHermes-2.5-Mistral-7B (what llama.cpp also falls back to).
pub const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/// The template hearth uses for a Gemma vocabulary (one with `<start_of_turn>`) that comes
/// without one, as Gemma 3 270M's base GGUF does: Google's Gemma 3 instruction template,
/// verbatim from the `tokenizer_config.json` of google/gemma-3-270m-it (the turn markers
/// `<start_of_turn>user` / `model` … `<end_of_turn>`, a system message folded into the
/// first user turn).
pub const GEMMA: &str = include_str!("chat_template/gemma.jinja");

/// The name errors refer to the template by.
const NAME: &str = "chat_template";

pub use hearth_protocol::Message;

/// A message as templates read it, in the shape Hugging Face's `apply_chat_template` is
/// given for tool use: a call's `arguments` a JSON object (where it parses as one), and an
/// assistant turn of calls only with `content: none`, as OpenAI clients send it.
fn template_view(m: &Message) -> serde_json::Value {
    let mut v = serde_json::to_value(m).unwrap_or_default();
    if let Some(calls) = v.get_mut("tool_calls").and_then(|c| c.as_array_mut()) {
        for call in calls {
            let args = call.pointer_mut("/function/arguments");
            if let Some(a) = args
                && let Some(parsed) = a
                    .as_str()
                    .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
                    .filter(|p| p.is_object())
            {
                *a = parsed;
            }
        }
        if m.content.is_empty() {
            v["content"] = serde_json::Value::Null;
        }
    }
    v
}

/// A parsed chat template, ready to render conversations into prompts.
#[derive(Clone)]
pub struct ChatTemplate {
    env: Environment<'static>,
    source: String,
    fallback: bool,
}

impl fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("fallback", &self.fallback)
            .field("source", &self.source)
            .finish()
    }
}

/// The error `raise_exception` raises, found again in the error chain after rendering.
#[derive(Debug)]
struct Raised(String);

impl fmt::Display for Raised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Raised {}

/// Whether the vocabulary has Gemma's turn markers (`<start_of_turn>`, `<end_of_turn>`).
fn has_gemma_turns(meta: &Metadata) -> bool {
    let Ok(Some(tokens)) = meta.array("tokenizer.ggml.tokens") else {
        return false;
    };
    let has = |t: &str| {
        tokens
            .iter()
            .any(|v| matches!(v, hearth_gguf::Value::String(s) if s == t))
    };
    has("<start_of_turn>") && has("<end_of_turn>")
}

impl ChatTemplate {
    /// The GGUF's `tokenizer.chat_template`; when it has none (or an empty one), Gemma's
    /// ([`GEMMA`]) for a vocabulary with Gemma's turn markers, else ChatML.
    /// [`is_fallback`](Self::is_fallback) tells whether the model's own was used.
    pub fn from_gguf(meta: &Metadata) -> Result<ChatTemplate> {
        match meta.str(GGUF_KEY)? {
            Some(source) if !source.trim().is_empty() => ChatTemplate::new(source),
            _ if has_gemma_turns(meta) => Ok(ChatTemplate {
                fallback: true,
                ..ChatTemplate::new(GEMMA)?
            }),
            _ => Ok(ChatTemplate {
                fallback: true,
                ..ChatTemplate::chatml()
            }),
        }
    }

    /// Parses a Jinja chat template; a syntax error is reported with its line.
    pub fn new(source: &str) -> Result<ChatTemplate> {
        let mut env = environment();
        env.add_template_owned(NAME, without_generation_tags(source))
            .map_err(|e| ModelError::Template(format!("cannot parse: {}", describe(&e))))?;
        Ok(ChatTemplate {
            env,
            source: source.to_string(),
            fallback: false,
        })
    }

    /// The ChatML template ([`CHATML`]).
    pub fn chatml() -> ChatTemplate {
        let mut env = environment();
        // CHATML is a constant the tests parse; failing here would be a bug in this file.
        let parsed = env.add_template_owned(NAME, CHATML);
        debug_assert!(parsed.is_ok(), "CHATML must parse");
        ChatTemplate {
            env,
            source: CHATML.to_string(),
            fallback: false,
        }
    }

    /// True when [`from_gguf`](Self::from_gguf) found no template and fell back (to Gemma's
    /// or ChatML).
    pub fn is_fallback(&self) -> bool {
        self.fallback
    }

    /// The template text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// One line saying where the template came from, for `--verbose` output.
    pub fn origin(&self) -> &'static str {
        if self.fallback && self.source == GEMMA {
            "the model has no tokenizer.chat_template; its vocabulary is Gemma's, so Gemma's template is used"
        } else if self.fallback {
            "the model has no tokenizer.chat_template; falling back to ChatML"
        } else {
            "the model's own tokenizer.chat_template"
        }
    }

    /// Renders a conversation into the prompt text, as HF's
    /// `apply_chat_template(messages, tokenize=False, add_generation_prompt=…)` does.
    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
        bos_token: &str,
        eos_token: &str,
    ) -> Result<String> {
        self.render_with(
            messages,
            add_generation_prompt,
            bos_token,
            eos_token,
            &serde_json::Map::new(),
        )
    }

    /// [`render`](Self::render) with extra template variables, like the keyword arguments of
    /// HF's `apply_chat_template` (`tools`, `date_string`, `enable_thinking`, …); they
    /// override the defaults of the same name.
    pub fn render_with(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
        bos_token: &str,
        eos_token: &str,
        extra: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<String> {
        if messages.is_empty() {
            return Err(ModelError::Template(
                "cannot apply a chat template to an empty conversation".into(),
            ));
        }
        let mut ctx = std::collections::BTreeMap::<String, Value>::new();
        let view: Vec<serde_json::Value> = messages.iter().map(template_view).collect();
        ctx.insert("messages".into(), Value::from_serialize(&view));
        ctx.insert(
            "add_generation_prompt".into(),
            Value::from(add_generation_prompt),
        );
        ctx.insert("bos_token".into(), Value::from(bos_token));
        ctx.insert("eos_token".into(), Value::from(eos_token));
        ctx.insert("tools".into(), Value::from(()));
        ctx.insert("documents".into(), Value::from(()));
        for (k, v) in extra {
            ctx.insert(k.clone(), Value::from_serialize(v));
        }
        let template = self
            .env
            .get_template(NAME)
            .map_err(|e| ModelError::Template(describe(&e)))?;
        template.render(&ctx).map_err(render_error)
    }
}

/// The Jinja environment of HF's `_compile_jinja_template`.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(false);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_formatter(python::formatter);
    env.add_filter("tojson", python::tojson);
    env.add_function("raise_exception", raise_exception);
    env.add_function("strftime_now", strftime::strftime_now);
    env
}

fn raise_exception(message: Value) -> std::result::Result<Value, Error> {
    let message = match message.as_str() {
        Some(s) => s.to_string(),
        None => message.to_string(),
    };
    Err(Error::new(ErrorKind::InvalidOperation, message.clone()).with_source(Raised(message)))
}

fn render_error(e: Error) -> ModelError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(Raised(message)) = err.downcast_ref::<Raised>() {
            return ModelError::Template(format!("{message} (raised by the template)"));
        }
        source = err.source();
    }
    ModelError::Template(format!("cannot render: {}", describe(&e)))
}

/// "what went wrong (line N)".
fn describe(e: &Error) -> String {
    // ErrorKind's Display is its description ("syntax error", "undefined value", …).
    let what = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    match e.line() {
        Some(line) => format!("{what} (line {line})"),
        None => what,
    }
}

/// Replaces HF's `{% generation %}…{% endgeneration %}` markers (used to find the assistant's
/// tokens, they render their body unchanged) by `{% if true %}…{% endif %}`, which keep the
/// same whitespace control.
fn without_generation_tags(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{%") {
        out.push_str(&rest[..start]);
        let tag = &rest[start..];
        let Some(end) = tag.find("%}") else {
            out.push_str(tag);
            return out;
        };
        let inner = &tag[2..end];
        let body = inner
            .strip_prefix(['-', '+'])
            .unwrap_or(inner)
            .trim_end_matches(['-', '+']);
        let replacement = match body.trim() {
            "generation" => Some("if true"),
            "endgeneration" => Some("endif"),
            _ => None,
        };
        match replacement {
            Some(keyword) => {
                let lead = &inner[..inner.len() - inner.trim_start_matches(['-', '+']).len()];
                let trail = &inner[inner.trim_end_matches(['-', '+']).len()..];
                out.push_str("{%");
                out.push_str(lead);
                out.push(' ');
                out.push_str(keyword);
                out.push(' ');
                out.push_str(trail);
                out.push_str("%}");
            }
            None => out.push_str(&tag[..end + 2]),
        }
        rest = &tag[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The prompt ids of a chat: `messages` rendered by `template` with the assistant's turn
/// opened, then tokenized with special tokens parsed. A BOS is added where the vocabulary
/// wants one, unless the template already wrote the BOS text itself.
pub fn encode_chat(
    template: &ChatTemplate,
    tok: &crate::tokenizer::Tokenizer,
    messages: &[Message],
) -> Result<Vec<u32>> {
    encode_chat_with(template, tok, messages, &serde_json::Map::new())
}

/// [`encode_chat`] with extra template variables (see [`ChatTemplate::render_with`]).
pub fn encode_chat_with(
    template: &ChatTemplate,
    tok: &crate::tokenizer::Tokenizer,
    messages: &[Message],
    extra: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<u32>> {
    let text_of = |id: Option<u32>| id.and_then(|id| tok.token_text(id)).unwrap_or("");
    let (bos, eos) = (text_of(tok.bos_id()), text_of(tok.eos_id()));
    let text = template.render_with(messages, true, bos, eos, extra)?;
    let add_bos = tok.add_bos() && (bos.is_empty() || !text.starts_with(bos));
    tok.encode(&text, add_bos, true)
}

/// The chat prompt of `messages` that fits `budget` tokens, by the policy a long
/// conversation needs: system messages are always kept, and whole turns are dropped from
/// the oldest (a turn starts at a user message) until the prompt fits, the last turn
/// never. `encode` makes the prompt of some messages (e.g. [`encode_chat`]). Returns the
/// prompt and how many messages were left out; an error when even the system messages
/// and the last turn do not fit.
pub fn fit_chat(
    messages: &[Message],
    budget: usize,
    encode: impl Fn(&[Message]) -> Result<Vec<u32>>,
) -> Result<(Vec<u32>, usize)> {
    let (system, rest): (Vec<&Message>, Vec<&Message>) =
        messages.iter().partition(|m| m.role == "system");
    let mut start = 0;
    loop {
        let kept: Vec<Message> = system
            .iter()
            .chain(&rest[start..])
            .map(|m| (*m).clone())
            .collect();
        let prompt = encode(&kept)?;
        if prompt.len() <= budget {
            return Ok((prompt, start));
        }
        // drop the oldest turn: its first message and what follows up to the next user's
        let mut next = start + 1;
        while next < rest.len() && rest[next].role != "user" {
            next += 1;
        }
        if next >= rest.len() {
            return Err(ModelError::Request(format!(
                "the last message needs a prompt of {} tokens; the context leaves room for {budget}",
                prompt.len()
            )));
        }
        start = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_tags_become_if_blocks() {
        assert_eq!(
            without_generation_tags("a{% generation %}b{%- endgeneration -%}c{% if x %}"),
            "a{% if true %}b{%- endif -%}c{% if x %}"
        );
        assert_eq!(without_generation_tags("{% unclosed"), "{% unclosed");
    }

    #[test]
    fn generation_block_renders_its_body() {
        let t = ChatTemplate::new(
            "{% for m in messages %}{% generation %}{{ m.content }}{% endgeneration %}\n{% endfor %}",
        )
        .unwrap();
        let out = t
            .render(&[Message::user("a"), Message::user("b")], false, "", "")
            .unwrap();
        assert_eq!(out, "ab");
    }

    #[test]
    fn python_str_of_values() {
        let t = ChatTemplate::new(
            "{{ none }}|{{ true }}|{{ false }}|{{ 1.0 }}|{{ 1e20 }}|{{ [1, 'a', none] }}|{{ {'k': 0.5} }}|{{ 3 }}",
        )
        .unwrap();
        let out = t.render(&[Message::user("x")], false, "", "").unwrap();
        assert_eq!(out, "None|True|False|1.0|1e+20|[1, 'a', None]|{'k': 0.5}|3");
    }

    #[test]
    fn long_chats_drop_their_oldest_turns_and_keep_the_system_prompt() {
        let m = |role: &str, text: &str| Message::new(role, text);
        let chat = [
            m("system", "sys"),
            m("user", "u1"),
            m("assistant", "a1"),
            m("user", "u2"),
            m("assistant", "a2"),
            m("assistant", "a2b"),
            m("user", "u3"),
        ];
        // one "token" per message, so a budget is a count of messages
        let encode = |ms: &[Message]| -> Result<Vec<u32>> {
            Ok(ms.iter().map(|m| m.content.len() as u32).collect())
        };
        let roles = |budget| {
            let (p, dropped) = fit_chat(&chat, budget, encode).unwrap();
            (p.len(), dropped)
        };
        assert_eq!(roles(7), (7, 0));
        assert_eq!(roles(6), (5, 2)); // sys u2 a2 a2b u3
        assert_eq!(roles(3), (2, 5)); // sys u3
        assert_eq!(roles(2), (2, 5));
        let err = fit_chat(&chat, 1, encode).unwrap_err().to_string();
        assert!(err.contains("room for 1"), "{err}");
    }
}
