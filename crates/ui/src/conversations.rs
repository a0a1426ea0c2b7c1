//! Saved conversations: the records kept in IndexedDB (`conversations`, written by the
//! host), the sidebar that lists them, and opening, renaming and deleting one. Stored
//! records are untrusted (another script of the origin may have written them): a record
//! that does not parse is skipped, and every string is shown as text.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Element, HtmlInputElement, KeyboardEvent};

use super::dom::{add, el};
use super::{Ui, chat, listen, settings};

/// One saved conversation.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub id: String,
    #[serde(default)]
    pub title: String,
    /// The URL of the model it was held with.
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub messages: Vec<Turn>,
    /// The settings form's values: "system" and each of [`settings::FIELDS`]' keys.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    #[serde(default)]
    pub created_at: f64,
    #[serde(default)]
    pub updated_at: f64,
}

/// One message of a saved conversation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Turn {
    pub role: String,
    pub content: String,
}

/// The records in `json` (an array) that parse, newest change first.
pub fn parse_list(json: &str) -> Vec<Record> {
    let values: Vec<Value> = serde_json::from_str(json).unwrap_or_default();
    let mut list: Vec<Record> = values
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .filter(|r: &Record| !r.id.is_empty())
        .collect();
    list.sort_by(|a, b| b.updated_at.total_cmp(&a.updated_at));
    list
}

/// A conversation's title from its first message: one line, at most 60 characters.
pub fn title_of(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 60 {
        let cut: String = line.chars().take(59).collect();
        format!("{}…", cut.trim_end())
    } else if line.is_empty() {
        "New chat".into()
    } else {
        line
    }
}

/// A record as the UI takes it from outside (an import): turns of other roles than
/// user and assistant are left out, a record without turns is refused, an empty title
/// comes from the first message.
pub fn checked(mut r: Record) -> Option<Record> {
    r.messages
        .retain(|t| t.role == "user" || t.role == "assistant");
    if r.messages.is_empty() {
        return None;
    }
    if r.title.trim().is_empty() {
        r.title = title_of(&r.messages[0].content);
    }
    Some(r)
}

/// Adds a saved conversation from elsewhere (an import) to the list, and stores it.
pub fn add_saved(ui: &Rc<Ui>, record: Record) {
    {
        let mut s = ui.state.borrow_mut();
        s.list.retain(|r| r.id != record.id);
        s.list.push(record.clone());
        s.list.sort_by(|a, b| b.updated_at.total_cmp(&a.updated_at));
    }
    store(ui, &record);
}

/// Whether `r` matches the sidebar's search: every word of `query` is in its title or
/// one of its messages, letter case aside (an empty query matches every conversation).
pub fn matches(r: &Record, query: &str) -> bool {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    if words.is_empty() {
        return true;
    }
    let text = std::iter::once(r.title.as_str())
        .chain(r.messages.iter().map(|t| t.content.as_str()))
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase();
    words.iter().all(|w| text.contains(w.as_str()))
}

/// A new conversation id: the time and a random part.
pub fn new_id() -> String {
    format!(
        "{:x}-{:08x}",
        js_sys::Date::now() as u64,
        (js_sys::Math::random() * u32::MAX as f64) as u32
    )
}

/// Loads the saved conversations and opens the newest (what a reload restores).
pub fn restore(ui: &Rc<Ui>) {
    let ui = ui.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let json = match ui.host.conversations() {
            Ok(p) => JsFuture::from(p).await,
            Err(e) => Err(e),
        };
        let list = json
            .ok()
            .and_then(|j| j.as_string())
            .map(|j| parse_list(&j))
            .unwrap_or_default();
        let first = list.first().map(|r| r.id.clone());
        ui.state.borrow_mut().list = list;
        // a chat started meanwhile stays; else the newest conversation comes back
        let empty = ui.state.borrow().messages.is_empty();
        match first {
            Some(id) if empty => open(&ui, &id),
            _ => render(&ui),
        }
    });
}

/// Saves the conversation on screen (creating its record on the first message).
pub fn save(ui: &Rc<Ui>) {
    let record = {
        let mut s = ui.state.borrow_mut();
        if s.messages.is_empty() {
            return;
        }
        let now = js_sys::Date::now();
        let model = s.model.clone();
        let messages: Vec<Turn> = s
            .messages
            .iter()
            .map(|m| Turn {
                role: m.role.to_string(),
                content: m.content.clone(),
            })
            .collect();
        let title = title_of(&messages[0].content);
        let record = s.current.get_or_insert_with(|| Record {
            id: new_id(),
            title,
            created_at: now,
            ..Record::default()
        });
        record.model = model;
        record.messages = messages;
        record.settings = form_settings(ui);
        record.updated_at = now;
        let record = record.clone();
        s.list.retain(|r| r.id != record.id);
        s.list.insert(0, record.clone());
        record
    };
    render(ui);
    store(ui, &record);
}

/// Writes `record` through the host; a failure is shown, not lost silently.
fn store(ui: &Rc<Ui>, record: &Record) {
    let Ok(json) = serde_json::to_string(record) else {
        return;
    };
    background(ui, "saved", ui.host.save_conversation(&json));
}

/// Awaits a host call in the background; a failure is shown ("… could not be `what`").
fn background(ui: &Rc<Ui>, what: &'static str, call: Result<js_sys::Promise, JsValue>) {
    let ui = ui.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let done = match call {
            Ok(p) => JsFuture::from(p).await,
            Err(e) => Err(e),
        };
        if let Err(e) = done {
            let why = chat::message_of(&e);
            chat::notice(&ui, &format!("The conversation could not be {what}: {why}"));
        }
    });
}

/// The settings form's values, by key.
fn form_settings(ui: &Ui) -> BTreeMap<String, String> {
    let v = &ui.view;
    let mut out = BTreeMap::new();
    out.insert("system".into(), v.system.value());
    for (f, input) in settings::FIELDS.iter().zip(&v.fields) {
        out.insert(f.key.into(), input.value());
    }
    out
}

/// Shows the saved conversation `id`: its messages and its settings.
pub fn open(ui: &Rc<Ui>, id: &str) {
    if ui.state.borrow().busy {
        return;
    }
    let Some(record) = ui.state.borrow().list.iter().find(|r| r.id == id).cloned() else {
        return;
    };
    chat::clear(ui);
    for t in &record.messages {
        let role = if t.role == "user" {
            "user"
        } else {
            "assistant"
        };
        if let Ok(body) = chat::add_message(ui, role, &t.content) {
            ui.state.borrow_mut().messages.push(super::Message {
                role,
                content: t.content.clone(),
                body,
                shown: Vec::new(),
            });
        }
    }
    let v = &ui.view;
    if let Some(system) = record.settings.get("system") {
        v.system.set_value(system);
        v.preset.set_value(settings::preset_of(system));
    }
    for (f, input) in settings::FIELDS.iter().zip(&v.fields) {
        if let Some(value) = record.settings.get(f.key) {
            input.set_value(value);
        }
    }
    ui.state.borrow_mut().current = Some(record);
    render(ui);
    chat::turn_actions(ui);
    // an opened conversation shows its end
    super::follow::pin(ui);
}

/// Redraws the sidebar's list.
pub fn render(ui: &Rc<Ui>) {
    let list = &ui.view.conversations;
    list.set_text_content(None);
    let s = ui.state.borrow();
    let current = s.current.as_ref().map(|r| r.id.as_str());
    if s.list.is_empty()
        && let Ok(empty) = el("li", &[("class", "empty")], "No saved conversations yet.")
    {
        list.append_child(&empty).ok();
    }
    let query = ui.view.search.value();
    let mut shown = 0;
    for r in s.list.iter().filter(|r| matches(r, &query)) {
        let _ = item(list, r, current == Some(r.id.as_str()));
        shown += 1;
    }
    if shown == 0
        && !s.list.is_empty()
        && let Ok(none) = el("li", &[("class", "empty")], "No conversation matches.")
    {
        list.append_child(&none).ok();
    }
}

fn item(list: &Element, r: &Record, current: bool) -> Result<(), JsValue> {
    let li = add(list, el("li", &[("data-id", &r.id)], "")?)?;
    let title = if r.title.is_empty() {
        "New chat"
    } else {
        &r.title
    };
    let open = add(
        &li,
        el(
            "button",
            &[
                ("type", "button"),
                ("class", "open"),
                ("data-action", "open"),
            ],
            title,
        )?,
    )?;
    if current {
        open.set_attribute("aria-current", "true")?;
    }
    for (action, label, text) in [("rename", "Rename", "✎"), ("delete", "Delete", "✕")] {
        add(
            &li,
            el(
                "button",
                &[
                    ("type", "button"),
                    ("class", action),
                    ("data-action", action),
                    ("aria-label", &format!("{label} “{title}”")),
                    ("title", label),
                ],
                text,
            )?,
        )?;
    }
    Ok(())
}

/// Handles a click in the sidebar's list.
pub fn clicked(ui: &Rc<Ui>, target: &Element) {
    let Ok(Some(button)) = target.closest("button[data-action]") else {
        return;
    };
    let Ok(Some(li)) = button.closest("li[data-id]") else {
        return;
    };
    let id = li.get_attribute("data-id").unwrap_or_default();
    match button.get_attribute("data-action").as_deref() {
        Some("open") => open(ui, &id),
        Some("rename") => rename(ui, &id, &li),
        Some("delete") => delete(ui, &id),
        _ => {}
    }
}

/// The title of the saved conversation `id`.
fn title_by_id(ui: &Ui, id: &str) -> Option<String> {
    let s = ui.state.borrow();
    s.list.iter().find(|r| r.id == id).map(|r| r.title.clone())
}

/// Turns the title into a text box: Enter or leaving it keeps the new title, Escape
/// keeps the old one.
fn rename(ui: &Rc<Ui>, id: &str, li: &Element) {
    let Some(old) = title_by_id(ui, id) else {
        return;
    };
    let Ok(input) = el(
        "input",
        &[
            ("type", "text"),
            ("class", "title-input"),
            ("aria-label", "Conversation title"),
            ("maxlength", "200"),
        ],
        "",
    ) else {
        return;
    };
    let input: HtmlInputElement = input.unchecked_into();
    input.set_value(&old);
    li.set_text_content(None);
    if li.append_child(&input).is_err() {
        return;
    }
    input.focus().ok();
    input.select();
    let commit = {
        let id = id.to_string();
        move |ui: &Rc<Ui>, input: &HtmlInputElement| {
            let title: String = input.value().trim().chars().take(200).collect();
            let record = {
                let mut s = ui.state.borrow_mut();
                let Some(r) = s.list.iter_mut().find(|r| r.id == id) else {
                    return;
                };
                if title.is_empty() || r.title == title {
                    None
                } else {
                    r.title = title.clone();
                    Some(r.clone())
                }
            };
            if let Some(record) = record {
                if let Some(c) = ui
                    .state
                    .borrow_mut()
                    .current
                    .as_mut()
                    .filter(|c| c.id == id)
                {
                    c.title = title;
                }
                store(ui, &record);
            }
            render(ui);
        }
    };
    let commit = Rc::new(commit);
    let on_key = commit.clone();
    let _ = listen(ui, &input, "keydown", move |ui, e| {
        let Some(k) = e.dyn_ref::<KeyboardEvent>() else {
            return;
        };
        let Some(input) = e
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        else {
            return;
        };
        match k.key().as_str() {
            "Enter" => {
                e.prevent_default();
                input.set_attribute("data-done", "1").ok();
                on_key(ui, &input);
            }
            "Escape" => {
                input.set_attribute("data-done", "1").ok();
                render(ui);
            }
            _ => {}
        }
    });
    let _ = listen(ui, &input, "blur", move |ui, e| {
        let Some(input) = e
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        else {
            return;
        };
        if !input.has_attribute("data-done") {
            commit(ui, &input);
        }
    });
}

/// Deletes the conversation `id` after the user confirms.
fn delete(ui: &Rc<Ui>, id: &str) {
    let Some(title) = title_by_id(ui, id) else {
        return;
    };
    let sure = web_sys::window()
        .and_then(|w| {
            w.confirm_with_message(&format!("Delete the conversation “{title}”?"))
                .ok()
        })
        .unwrap_or(false);
    if !sure {
        return;
    }
    let showing = ui
        .state
        .borrow()
        .current
        .as_ref()
        .is_some_and(|c| c.id == id);
    if showing {
        chat::new_chat(ui);
    }
    ui.state.borrow_mut().list.retain(|r| r.id != id);
    render(ui);
    background(ui, "deleted", ui.host.delete_conversation(id));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_records_parse_leniently_and_sort_newest_first() {
        let json = r#"[
            {"id": "a", "title": "old", "updatedAt": 1, "messages": [{"role": "user", "content": "hi"}]},
            {"id": "b", "updatedAt": 5},
            {"id": 7, "title": "not a record"},
            {"title": "no id"},
            "junk",
            {"id": "c", "messages": "not a list"}
        ]"#;
        let list = parse_list(json);
        let ids: Vec<&str> = list.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
        assert_eq!(list[1].messages[0].content, "hi");
        assert!(parse_list("not json").is_empty());
        // a record round-trips through the host's JSON
        let back: Record = serde_json::from_str(&serde_json::to_string(&list[1]).unwrap()).unwrap();
        assert_eq!(back, list[1]);
    }

    #[test]
    fn titles_are_one_short_line() {
        assert_eq!(
            title_of("  What is\nthe  capital?  "),
            "What is the capital?"
        );
        assert_eq!(title_of(""), "New chat");
        let long = "word ".repeat(30);
        let t = title_of(&long);
        assert!(t.chars().count() <= 60 && t.ends_with('…'), "{t}");
    }
}
