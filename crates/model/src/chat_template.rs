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
//! Templates are untrusted code (they come with the GGUF file), so a render is bounded
//! ([`ChatTemplate::render_with`] checks all of these, each failing with
//! [`ModelError::TemplateLimit`]): at most [`MAX_STEPS`] steps (minijinja's fuel, about
//! one per instruction; loops that do not end in time), an output of at most
//! [`MAX_OUTPUT`] bytes plus [`OUTPUT_PER_INPUT`] times the bytes of the messages and
//! extra variables, calls nested at most [`MAX_DEPTH`] deep (recursive macros,
//! recursive loops), and the values it makes (strings doubled in a loop, lists grown
//! without end) charged to a memory budget of [`MAX_MEMORY`] bytes plus a share per byte
//! of input (`chat_template/budget.rs` rewrites the template to charge them).
//! minijinja bounds the rest itself: `range()` has at most 100,000 items, a repeated
//! string (`'x' * n`) at most 100 MB, expressions nest at most 150 deep when parsed.
//!
//! The rendered prompt may already start with the BOS token text (Llama 2/3 templates print
//! `bos_token`): tokenize it with special tokens parsed and without adding a second BOS.

mod budget;
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

/// The most steps one render may take (minijinja's fuel: about one per instruction). The
/// chat templates of published models take a few hundred per message.
pub const MAX_STEPS: u64 = 1_000_000;
/// More steps allowed per message of the conversation.
pub const STEPS_PER_MESSAGE: u64 = 10_000;
/// The most bytes a rendered prompt may have, beyond [`OUTPUT_PER_INPUT`] times its input.
pub const MAX_OUTPUT: usize = 1 << 20;
/// Output bytes allowed per byte of input (messages and extra variables as JSON).
pub const OUTPUT_PER_INPUT: usize = 8;
/// The bytes the values a render makes may take (strings, lists, maps; see
/// `chat_template/budget.rs`), beyond [`MEMORY_PER_INPUT`] per byte of input and two
/// more per byte of input and message (a template that builds its prompt in a variable
/// message by message makes every prefix).
pub const MAX_MEMORY: u64 = 64 << 20;
/// Memory allowed per byte of input (messages and extra variables as JSON).
pub const MEMORY_PER_INPUT: u64 = 64;
/// How deep macro calls, recursive loops and the blocks in them may nest: minijinja's
/// recursion limit, kept at its default (each macro call takes several levels).
pub const MAX_DEPTH: usize = 500;

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
        env.add_template_owned(NAME, budget::charged(&without_generation_tags(source)))
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
        let parsed = env.add_template_owned(NAME, budget::charged(CHATML));
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
        let input: usize = view
            .iter()
            .chain(extra.values())
            .map(|v| v.to_string().len())
            .sum();
        let max_output = MAX_OUTPUT.saturating_add(input.saturating_mul(OUTPUT_PER_INPUT));
        let steps =
            MAX_STEPS.saturating_add(STEPS_PER_MESSAGE.saturating_mul(messages.len() as u64));
        // the step budget is the environment's; a clone per render is cheap (shared templates)
        let mut env = self.env.clone();
        env.set_fuel(Some(steps));
        let template = env
            .get_template(NAME)
            .map_err(|e| ModelError::Template(describe(&e)))?;
        let mut out = Bounded {
            buf: Vec::new(),
            max: max_output,
            over: false,
        };
        let memory = MAX_MEMORY.saturating_add(
            (input as u64).saturating_mul(MEMORY_PER_INPUT + 2 * messages.len() as u64),
        );
        match budget::with_budget(memory, || template.render_captured_to(&ctx, &mut out)) {
            Ok(_) => String::from_utf8(out.buf)
                .map_err(|_| ModelError::Template("rendered invalid UTF-8".into())),
            Err(e) => Err(render_error(e, steps, max_output, memory, out.over)),
        }
    }
}

/// The Jinja environment of HF's `_compile_jinja_template`.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(false);
    env.set_recursion_limit(MAX_DEPTH);
    env.set_formatter(python::formatter);
    // Python's methods (pycompat), the charging function, the checked filters
    budget::install(&mut env);
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

/// The output of a render, refused past `max` bytes (`over` then set).
struct Bounded {
    buf: Vec<u8>,
    max: usize,
    over: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len().saturating_add(data.len()) > self.max {
            self.over = true;
            return Err(std::io::Error::other("the output is too long"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The error of a failed render: the message a template raised, a limit it hit (`over`:
/// the output was too long), or minijinja's error.
fn render_error(e: Error, steps: u64, max_output: usize, memory: u64, over: bool) -> ModelError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if err.downcast_ref::<budget::OverBudget>().is_some() {
            return ModelError::TemplateLimit(format!(
                "the template's values went over {memory} bytes ({}){}",
                e.detail()
                    .unwrap_or("a string or list built without bound?"),
                e.line().map(|l| format!(" (line {l})")).unwrap_or_default()
            ));
        }
        if let Some(Raised(message)) = err.downcast_ref::<Raised>() {
            return ModelError::Template(format!("{message} (raised by the template)"));
        }
        source = err.source();
    }
    match e.kind() {
        _ if over => {
            ModelError::TemplateLimit(format!("the rendered prompt is over {max_output} bytes"))
        }
        ErrorKind::OutOfFuel => ModelError::TemplateLimit(format!(
            "the template ran out of its {steps} steps (a loop too long?)"
        )),
        ErrorKind::InvalidOperation if e.detail() == Some("recursion limit exceeded") => {
            ModelError::TemplateLimit(format!(
                "calls nested over {MAX_DEPTH} deep (a recursive macro or loop?){}",
                e.line().map(|l| format!(" (line {l})")).unwrap_or_default()
            ))
        }
        _ => ModelError::Template(format!("cannot render: {}", describe(&e))),
    }
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
        // the closing `%}` after the opening `{%` (in `{%}` they share the `%`)
        let Some(end) = tag[2..].find("%}").map(|e| e + 2) else {
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

    /// Renders a hostile `source` and expects a [`ModelError::TemplateLimit`] containing
    /// `what`, within a few seconds (a debug build).
    fn hits_limit(source: &str, what: &str) {
        let start = std::time::Instant::now();
        let t = ChatTemplate::new(source).unwrap();
        let err = t.render(&[Message::user("x")], true, "", "").unwrap_err();
        let took = start.elapsed();
        match &err {
            ModelError::TemplateLimit(msg) => assert!(msg.contains(what), "{source}: {msg}"),
            other => panic!("{source}: not a limit error: {other}"),
        }
        assert!(took.as_secs() < 10, "{source}: took {took:?}");
    }

    /// Found by the `chat_template` fuzz target: `{%}` (the opening's `%` read as the
    /// closing's) made the generation-tag rewrite slice backwards and panic.
    #[test]
    fn a_tag_opening_and_closing_in_one_percent_is_an_error_not_a_panic() {
        for source in [
            "{%}",
            "{%}% endif %}",
            "a{%}b%}",
            "{%-}",
            "{% generation %}x{%}",
        ] {
            assert!(ChatTemplate::new(source).is_err(), "{source:?}");
        }
        // the rewrite itself leaves such text alone
        assert_eq!(without_generation_tags("{%}% x %}"), "{%}% x %}");
    }

    #[test]
    fn endless_loops_run_out_of_steps() {
        hits_limit(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "steps",
        );
        hits_limit(
            "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}{{ '' }}{% endfor %}{% endfor %}{% endfor %}",
            "steps",
        );
        // minijinja's own bound: range() over 100,000 items is an error
        let t = ChatTemplate::new("{% for i in range(10**9) %}{% endfor %}").unwrap();
        let err = t.render(&[Message::user("x")], true, "", "").unwrap_err();
        assert!(err.to_string().contains("range"), "{err}");
    }

    #[test]
    fn huge_outputs_are_cut_off() {
        hits_limit("{{ 'x' * 10**8 }}", "bytes");
        hits_limit(
            "{% for i in range(100000) %}{{ 'abcdefgh' * 1000 }}{% endfor %}",
            "bytes",
        );
        hits_limit(
            "{% for i in range(100000) %}{{ ['a', 'b'] | join('y' * 10000) }}{% endfor %}",
            "bytes",
        );
        // a long conversation's prompt is allowed, however long
        let long = "z".repeat(4 * MAX_OUTPUT);
        let t = ChatTemplate::chatml();
        let out = t.render(&[Message::user(&long)], true, "", "").unwrap();
        assert!(out.len() > 4 * MAX_OUTPUT);
    }

    /// Values a template builds without printing them are charged to the memory budget:
    /// each of these would take gigabytes or more (2^95 bytes for the first).
    #[test]
    fn values_built_without_bound_hit_the_memory_budget() {
        for source in [
            "{% set ns = namespace(s='ab') %}{% for i in range(95) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
            "{% set ns = namespace(s='ab') %}{% for i in range(95) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
            "{% set ns = namespace(l=[1]) %}{% for i in range(95) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
            "{% macro f(s, n) %}{% if n %}{{ f(s ~ s, n - 1) }}{% endif %}{% endmacro %}{{ f('ab', 40) | length }}",
            "{% macro f(n) %}{% if n %}{% set r = f(n - 1) %}{{ r }}{{ r }}{% else %}ab{% endif %}{% endmacro %}{% set x = f(40) %}",
            "{% macro f(n) %}{% if n %}{% set r = f(n - 1) %}{{ r[0:] }}{{ r[1:] }}{% else %}ab{% endif %}{% endmacro %}{% set x = f(40) %}",
            "{% macro f(n) %}{% if n %}{% set r %}{{ f(n - 1) }}{{ f(n - 1) }}{% endset %}{{ r }}{% endif %}x{% endmacro %}{% set x = f(40) %}",
            "{% for m in ['ab'] recursive %}{% if loop.depth < 40 %}{% set r = loop([m ~ m]) %}{% endif %}{% endfor %}",
            "{% set s = 'x' * 10**7 %}{% set l = [s] * 1000 %}{% set t = l | join('') %}",
            "{% set s = 'x' * 10**7 %}{% set t = s | replace('x', s) %}",
            "{% set s = 'x' * 10**7 %}{% set t = s.replace('x', s[:100]) %}",
            "{% set s = 'x' * 10**7 %}{% set t = s.join([s, s, s, s, s, s, s, s]) %}",
            "{% set t = ('a\\nb' * 10**6) | indent(1000) %}",
            "{% set l = [1] * 10**15 %}{{ l | list | length }}",
            "{% set t = '%999999999s' | format('x') %}",
            "{% set t = '{:>999999999}'.format('x') %}",
        ] {
            let start = std::time::Instant::now();
            let t = ChatTemplate::new(source).unwrap();
            let Err(err) = t.render(&[Message::user("x")], true, "", "") else {
                panic!("{source}: rendered");
            };
            match &err {
                // the memory budget, or for the exponentially many calls the steps
                ModelError::TemplateLimit(msg) => assert!(
                    ["bytes", "million", "steps"]
                        .iter()
                        .any(|w| msg.contains(w)),
                    "{source}: {msg}"
                ),
                other => panic!("{source}: not a limit error: {other}"),
            }
            assert!(
                start.elapsed().as_secs() < 20,
                "{source}: {:?}",
                start.elapsed()
            );
        }
        // what a published template does with long conversations stays well inside it
        let t = ChatTemplate::new(
            "{% set ns = namespace(p='') %}{% for m in messages %}{% set ns.p = ns.p ~ m.role ~ ': ' ~ m.content ~ '\n' %}{% endfor %}{{ ns.p }}",
        )
        .unwrap();
        let chat: Vec<Message> = (0..400)
            .map(|i| Message::user("word ".repeat(i % 50 + 100)))
            .collect();
        let out = t.render(&chat, true, "", "").unwrap();
        assert!(out.len() > 200_000, "{}", out.len());
    }

    #[test]
    fn deep_recursion_is_refused() {
        hits_limit(
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
            "nested",
        );
        hits_limit(
            "{% macro f() %}{{ f() }}{{ f() }}{% endmacro %}{{ f() }}",
            "nested",
        );
        hits_limit(
            "{% for m in [[[]]] recursive %}{{ loop([m]) }}{% endfor %}",
            "nested",
        );
        // nesting that a published template might use still works
        let t = ChatTemplate::new(
            "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{{ n }}{% endmacro %}{{ f(50) }}",
        )
        .unwrap();
        let r = t.render(&[Message::user("x")], true, "", "");
        assert!(r.is_ok(), "{r:?}");
    }
}
