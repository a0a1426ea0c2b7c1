//! The conversation on screen: sending a turn, streaming the answer into its element,
//! stopping, and the stats line after it.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Value, json};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlElement;

use super::dom::{add, el, patch_into, render_into};
use super::{Message, Ui, conversations, follow, settings, update_controls};

/// Appends a message's element; the user's text is shown as typed, the model's as
/// Markdown. Returns the element that holds the text.
pub fn add_message(ui: &Ui, role: &'static str, content: &str) -> Result<HtmlElement, JsValue> {
    let who = if role == "user" { "You" } else { "hearth" };
    let article = add(
        &ui.view.messages,
        el(
            "article",
            &[("class", &format!("message {role}")), ("aria-label", who)],
            "",
        )?,
    )?;
    let body = add(&article, el("div", &[("class", "body")], "")?)?;
    show(role, &body, content);
    Ok(body)
}

/// Writes `content` into a message's element.
pub fn show(role: &str, body: &HtmlElement, content: &str) {
    if role == "user" {
        body.set_text_content(Some(content));
    } else {
        let _ = render_into(body, &crate::markdown::render(content));
    }
}

/// Shows a line under the messages (a policy applied, a failure), or hides it when empty.
pub fn notice(ui: &Ui, text: &str) {
    ui.view.notice.set_text_content(Some(text));
    ui.view.notice.set_hidden(text.is_empty());
}

/// The message of a JS error value.
pub fn message_of(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

/// Empties the screen's conversation (the saved one stays saved).
pub fn clear(ui: &Ui) {
    {
        let mut s = ui.state.borrow_mut();
        s.messages.clear();
        s.current = None;
    }
    ui.view.messages.set_text_content(None);
    ui.view.stats.set_text_content(None);
    notice(ui, "");
    follow::pin(ui);
}

/// Starts a new conversation, stopping an answer still streaming.
pub fn new_chat(ui: &Rc<Ui>) {
    if ui.state.borrow().busy {
        ui.host.stop();
        return;
    }
    clear(ui);
    conversations::render(ui);
    ui.view.input.focus().ok();
}

/// Sends the composer's text as the next user turn and streams the answer.
pub fn send(ui: &Rc<Ui>) {
    let text = ui.view.input.value();
    let text = text.trim();
    {
        let s = ui.state.borrow();
        if text.is_empty() || s.busy || !s.ready {
            return;
        }
    }
    let Ok(user_body) = add_message(ui, "user", text) else {
        return;
    };
    ui.view.input.set_value("");
    ui.state.borrow_mut().messages.push(Message {
        role: "user",
        content: text.to_string(),
        body: user_body,
        shown: Vec::new(),
    });
    // the reader sent it: they want to see it, and the answer
    follow::pin(ui);
    conversations::save(ui);
    ui.host.emit(
        "message",
        &json!({"role": "user", "content": text}).to_string(),
    );
    answer(ui);
}

/// Streams the model's answer to the conversation on screen, as a new message.
fn answer(ui: &Rc<Ui>) {
    let Ok(answer_body) = add_message(ui, "assistant", "") else {
        return;
    };
    notice(ui, "");
    let request = {
        let mut s = ui.state.borrow_mut();
        s.busy = true;
        let mut messages = Vec::new();
        let system = ui.view.system.value();
        if !system.trim().is_empty() {
            messages.push(json!({"role": "system", "content": system}));
        }
        for m in &s.messages {
            messages.push(json!({"role": m.role, "content": m.content}));
        }
        s.messages.push(Message {
            role: "assistant",
            content: String::new(),
            body: answer_body,
            shown: Vec::new(),
        });
        let values: Vec<String> = ui.view.fields.iter().map(|f| f.value()).collect();
        let mut req = settings::from_form(&values);
        // no seed given: a fresh one per answer, so that Regenerate gives another
        if !req.contains_key("seed") {
            let seed = (js_sys::Math::random() * 4294967296.0) as u64;
            req.insert("seed".into(), Value::from(seed));
        }
        req.insert("messages".into(), Value::Array(messages));
        Value::Object(req).to_string()
    };
    update_controls(ui);
    turn_actions(ui);
    follow::changed(ui);
    let ui = ui.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let first = Rc::new(RefCell::new(None::<f64>));
        let weak = Rc::downgrade(&ui);
        let seen = first.clone();
        let on_delta = Closure::<dyn FnMut(String)>::new(move |piece: String| {
            seen.borrow_mut().get_or_insert_with(js_sys::Date::now);
            if let Some(ui) = weak.upgrade() {
                if let Some(m) = ui.state.borrow_mut().messages.last_mut() {
                    m.content.push_str(&piece);
                    // the answer re-parsed whole (a piece may close or reopen any block),
                    // its DOM patched where it changed
                    let new = crate::markdown::render(&m.content);
                    let _ = patch_into(&m.body, &m.shown, &new);
                    m.shown = new;
                }
                follow::changed(&ui);
            }
        });
        let result = match ui.host.chat(&request, on_delta.as_ref().unchecked_ref()) {
            Ok(p) => JsFuture::from(p).await,
            Err(e) => Err(e),
        };
        drop(on_delta);
        let end = js_sys::Date::now();
        let streamed = first.borrow().map(|t| (end - t) / 1000.0);
        finish(&ui, result, streamed);
    });
}

/// After an answer: the stats line and the context notice, or the error in the
/// answer's place; the conversation is saved either way.
fn finish(ui: &Rc<Ui>, result: Result<JsValue, JsValue>, streamed_s: Option<f64>) {
    ui.state.borrow_mut().busy = false;
    update_controls(ui);
    match result {
        Ok(r) => {
            let r: Value = r
                .as_string()
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or(Value::Null);
            let done = r["completion_tokens"].as_u64().unwrap_or(0);
            let prompt = r["prompt_tokens"].as_u64().unwrap_or(0);
            let mut line = format!("{done} tokens");
            if let Some(s) = streamed_s.filter(|&s| s > 0.0 && done > 1) {
                line.push_str(&format!(" · {:.1} tokens/s", (done - 1) as f64 / s));
            }
            let n_ctx = ui.state.borrow().n_ctx;
            if n_ctx > 0 {
                line.push_str(&format!(" · context {}/{n_ctx}", prompt + done));
            }
            if r["finish_reason"] == "abort" {
                line.push_str(" · stopped");
            }
            ui.view.stats.set_text_content(Some(&line));
            if let Some(n) = r["dropped_messages"].as_u64().filter(|&n| n > 0) {
                notice(
                    ui,
                    &format!(
                        "The conversation is longer than the model's context: its {n} oldest \
                         messages were left out of this answer (the system prompt is kept)."
                    ),
                );
            }
            let content = ui
                .state
                .borrow()
                .messages
                .last()
                .map(|m| m.content.clone())
                .unwrap_or_default();
            ui.host.emit(
                "message",
                &json!({"role": "assistant", "content": content, "finish_reason": r["finish_reason"]})
                    .to_string(),
            );
        }
        Err(e) => {
            let msg = message_of(&e);
            let failed = ui.state.borrow_mut().messages.pop();
            if let Some(article) = failed.and_then(|m| m.body.parent_element()) {
                article.remove();
            }
            notice(ui, &format!("Error: {msg}"));
            ui.host.emit("error", &json!({"message": msg}).to_string());
        }
    }
    conversations::save(ui);
    turn_actions(ui);
    follow::changed(ui);
}

/// Puts Copy on every message, Edit on the last user message and Regenerate on the
/// answer after it (none while an answer streams).
pub fn turn_actions(ui: &Ui) {
    if let Ok(old) = ui.view.messages.query_selector_all(".actions") {
        for i in 0..old.length() {
            if let Some(Ok(e)) = old.item(i).map(|n| n.dyn_into::<web_sys::Element>()) {
                e.remove();
            }
        }
    }
    let s = ui.state.borrow();
    if s.busy {
        return;
    }
    let n = s.messages.len();
    let last_user = s.messages.iter().rposition(|m| m.role == "user");
    let put = |i: usize, actions: &[(&str, &str, &str)]| {
        let article = s.messages[i].body.parent_element();
        if let Some(article) = article
            && let Ok(bar) = add(&article, el("div", &[("class", "actions")], "")?)
        {
            for (action, label, text) in actions {
                add(
                    &bar,
                    el(
                        "button",
                        &[
                            ("type", "button"),
                            ("data-action", action),
                            ("aria-label", label),
                        ],
                        text,
                    )?,
                )?;
            }
        }
        Ok::<(), JsValue>(())
    };
    const COPY: (&str, &str, &str) = ("copy", "Copy to clipboard", "Copy");
    for i in 0..n {
        let last_answer = last_user.is_some_and(|u| u + 1 < n) && i == n - 1;
        let _ = if Some(i) == last_user {
            put(i, &[COPY, ("edit", "Edit", "Edit")])
        } else if last_answer {
            put(i, &[COPY, ("regenerate", "Regenerate", "Regenerate")])
        } else {
            put(i, &[COPY])
        };
    }
}

/// Copy on a message: its text (an answer's Markdown source) to the clipboard.
pub fn copy(ui: &Ui, button: &web_sys::Element) {
    let article = button.closest("article").ok().flatten();
    let s = ui.state.borrow();
    let Some(m) = s.messages.iter().find(|m| {
        let a = m.body.parent_element();
        a.is_some() && a == article
    }) else {
        return;
    };
    super::copy_text(&m.content);
    button.set_text_content(Some("Copied"));
}

/// Regenerate: a new answer to the last user message, in place of the last answer.
pub fn regenerate(ui: &Rc<Ui>) {
    {
        let s = ui.state.borrow();
        if s.busy || !s.ready || s.messages.last().is_none_or(|m| m.role == "user") {
            return;
        }
    }
    drop_last(ui, 1);
    answer(ui);
}

/// Edit: the last user message goes back into the composer, and it and its answer leave
/// the conversation until it is sent again.
pub fn edit(ui: &Rc<Ui>) {
    let (text, from_end) = {
        let s = ui.state.borrow();
        if s.busy {
            return;
        }
        let Some(u) = s.messages.iter().rposition(|m| m.role == "user") else {
            return;
        };
        (s.messages[u].content.clone(), s.messages.len() - u)
    };
    drop_last(ui, from_end);
    ui.view.input.set_value(&text);
    ui.view.input.focus().ok();
    conversations::save(ui);
    turn_actions(ui);
}

/// Removes the last `n` messages from the screen and the state.
fn drop_last(ui: &Ui, n: usize) {
    let mut s = ui.state.borrow_mut();
    for _ in 0..n {
        if let Some(article) = s.messages.pop().and_then(|m| m.body.parent_element()) {
            article.remove();
        }
    }
}
