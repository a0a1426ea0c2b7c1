//! Feeds arbitrary templates and conversations to the chat-template renderer
//! (`hearth_model::chat_template`, minijinja). The input is split at NUL bytes: the first
//! part is the template source, each further part a message whose first byte picks its
//! role (system, user, assistant, tool) and whose rest is its content. Parsing and
//! rendering must give `Ok` or `Err`, never a panic, a hang or unbounded memory: hostile
//! templates (endless loops, huge outputs, deep recursion) must hit the renderer's limits
//! (`MAX_STEPS`, `MAX_OUTPUT`, `MAX_DEPTH`) and fail with `ModelError::TemplateLimit`.
//! An accepted render must stay within the output bound.

#![no_main]

use hearth_model::chat_template::{
    ChatTemplate, MAX_OUTPUT, Message, OUTPUT_PER_INPUT,
};
use libfuzzer_sys::fuzz_target;

const ROLES: [&str; 4] = ["system", "user", "assistant", "tool"];

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0);
    let source = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let messages: Vec<Message> = parts
        .take(64)
        .map(|p| {
            let (role, content) = match p.split_first() {
                Some((r, rest)) => (ROLES[usize::from(*r) % 4], rest),
                None => ("user", p),
            };
            Message::new(role, String::from_utf8_lossy(content))
        })
        .collect();
    let Ok(template) = ChatTemplate::new(&source) else {
        return;
    };
    let add_generation_prompt = data.len() % 2 == 0;
    if let Ok(out) = template.render(&messages, add_generation_prompt, "<s>", "</s>") {
        let input: usize = messages
            .iter()
            .map(|m| serde_json::to_string(m).map_or(0, |s| s.len()))
            .sum();
        assert!(
            out.len() <= MAX_OUTPUT + OUTPUT_PER_INPUT * input,
            "{} bytes rendered from {input} bytes of messages",
            out.len()
        );
    }
});
