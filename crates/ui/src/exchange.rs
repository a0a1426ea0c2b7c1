//! Conversations out of and into the browser: Export JSON (every saved conversation, a
//! backup that Import takes back), Export Markdown (the conversation on screen, to read or
//! share) and Import (a file of JSON). An imported file is untrusted: it is read only up
//! to [`MAX_FILE_BYTES`], every record is checked as a stored one is, and a record whose
//! id is already here with other contents comes in under a new id, so an import never
//! overwrites a conversation.

use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;

use super::Ui;
use super::chat::{message_of, notice};
use super::conversations::{self, Record};
use super::dom::document;

/// What [`to_json`] writes in `format`.
pub const FORMAT: &str = "hearth-conversations";
/// The largest file Import reads.
pub const MAX_FILE_BYTES: f64 = 64e6;
/// The most conversations one import takes.
pub const MAX_RECORDS: usize = 10_000;

/// The JSON export: `{format, version, conversations}`.
#[derive(Serialize, Deserialize)]
struct Envelope {
    format: String,
    version: u32,
    conversations: Vec<Value>,
}

/// Every conversation in `list` as the JSON that [`parse_import`] reads back.
pub fn to_json(list: &[Record]) -> String {
    let conversations = list
        .iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();
    serde_json::to_string_pretty(&Envelope {
        format: FORMAT.into(),
        version: 1,
        conversations,
    })
    .unwrap_or_default()
}

/// A conversation as Markdown: its title as a heading, then each message under the name
/// of who wrote it ("You", "hearth"), a question as a quote (its text as typed, escaped),
/// an answer as the Markdown it is.
pub fn to_markdown(r: &Record) -> String {
    let mut out = format!("# {}\n\n", escape_line(&r.title));
    if let Some(system) = r.settings.get("system").filter(|s| !s.trim().is_empty()) {
        out.push_str(&format!("*System prompt:* {}\n\n", escape_line(system)));
    }
    for t in &r.messages {
        if t.role == "user" {
            out.push_str("**You:**\n\n");
            for line in t.content.lines() {
                out.push_str(&format!("> {}\n", escape_line(line)));
            }
            out.push('\n');
        } else {
            out.push_str(&format!("**hearth:**\n\n{}\n\n", t.content.trim_end()));
        }
    }
    out
}

/// `text` with the characters that Markdown would read as markup escaped.
fn escape_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\`*_{}[]()#+-.!<>|~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The conversations in an imported file: the JSON export, one record, or an array of
/// records. Records that do not parse, or have no messages, are left out and counted.
/// Errors: not JSON, none of those shapes, or more than [`MAX_RECORDS`] records.
pub fn parse_import(json: &str) -> Result<(Vec<Record>, usize), String> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| format!("the file is not JSON ({e})"))?;
    let values = match value {
        Value::Array(values) => values,
        Value::Object(ref o) if o.get("format").and_then(Value::as_str) == Some(FORMAT) => {
            let env: Envelope = serde_json::from_value(value)
                .map_err(|e| format!("the file is not a hearth export ({e})"))?;
            if env.version != 1 {
                return Err(format!(
                    "the file is a version {} export; this hearth reads version 1",
                    env.version
                ));
            }
            env.conversations
        }
        Value::Object(_) => vec![value],
        _ => return Err("the file holds no conversations".into()),
    };
    if values.len() > MAX_RECORDS {
        return Err(format!(
            "the file holds {} conversations; at most {MAX_RECORDS} are imported at once",
            values.len()
        ));
    }
    let total = values.len();
    let records: Vec<Record> = values
        .into_iter()
        .filter_map(|v| serde_json::from_value::<Record>(v).ok())
        .filter_map(conversations::checked)
        .collect();
    let skipped = total - records.len();
    if records.is_empty() {
        return Err("the file holds no conversation that hearth can read".into());
    }
    Ok((records, skipped))
}

/// Where `incoming` goes among `here`: None when an equal record is here already, else
/// the record, under a new id (from `fresh`) when its id is here with other contents.
pub fn merge(
    here: &[Record],
    mut incoming: Record,
    fresh: impl FnOnce() -> String,
) -> Option<Record> {
    match here.iter().find(|r| r.id == incoming.id) {
        Some(r) if *r == incoming => None,
        Some(_) => {
            incoming.id = fresh();
            Some(incoming)
        }
        None if incoming.id.is_empty() => {
            incoming.id = fresh();
            Some(incoming)
        }
        None => Some(incoming),
    }
}

/// Offers `text` as a download named `name`.
fn download(name: &str, mime: &str, text: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let a: web_sys::HtmlAnchorElement = document()?.create_element("a")?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url)?;
    Ok(())
}

/// A file name from a title: letters, digits and dashes, at most 40 characters.
fn file_stem(title: &str) -> String {
    let stem: String = title
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let stem: String = stem.chars().take(40).collect();
    if stem.is_empty() {
        "conversation".into()
    } else {
        stem
    }
}

/// Export JSON: every saved conversation.
pub fn export_json(ui: &Ui) {
    let json = to_json(&ui.state.borrow().list);
    if let Err(e) = download("hearth-conversations.json", "application/json", &json) {
        notice(ui, &format!("The export failed: {}", message_of(&e)));
    }
}

/// Export Markdown: the conversation on screen.
pub fn export_markdown(ui: &Ui) {
    let Some(record) = ui.state.borrow().current.clone() else {
        notice(ui, "There is no conversation on screen to export.");
        return;
    };
    let name = format!("{}.md", file_stem(&record.title));
    if let Err(e) = download(&name, "text/markdown", &to_markdown(&record)) {
        notice(ui, &format!("The export failed: {}", message_of(&e)));
    }
}

/// Import: the file chosen in `input`, its conversations saved and listed.
pub fn import(ui: &Rc<Ui>, input: &HtmlInputElement) {
    let Some(file) = input.files().and_then(|f| f.get(0)) else {
        return;
    };
    input.set_value("");
    if file.size() > MAX_FILE_BYTES {
        notice(
            ui,
            &format!(
                "The file is {:.0} MB; hearth imports files of at most {:.0} MB.",
                file.size() / 1e6,
                MAX_FILE_BYTES / 1e6
            ),
        );
        return;
    }
    let ui = ui.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let text = JsFuture::from(file.text()).await.map(|t| t.as_string());
        let parsed = match text {
            Ok(Some(text)) => parse_import(&text),
            Ok(None) => Err("the file is not text".into()),
            Err(e) => Err(message_of(&e)),
        };
        let (records, skipped) = match parsed {
            Ok(p) => p,
            Err(why) => {
                notice(&ui, &format!("Nothing was imported: {why}."));
                return;
            }
        };
        let mut added = 0;
        for r in records {
            let here = ui.state.borrow().list.clone();
            if let Some(r) = merge(&here, r, conversations::new_id) {
                conversations::add_saved(&ui, r);
                added += 1;
            }
        }
        let mut line = format!(
            "Imported {added} conversation{}",
            if added == 1 { "" } else { "s" }
        );
        if skipped > 0 {
            line.push_str(&format!("; {skipped} could not be read and were left out"));
        }
        line.push('.');
        notice(&ui, &line);
        conversations::render(&ui);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversations::Turn;

    fn record(id: &str, title: &str) -> Record {
        Record {
            id: id.into(),
            title: title.into(),
            model: "https://example.com/m.gguf".into(),
            messages: vec![
                Turn {
                    role: "user".into(),
                    content: "What is *2*+2?\n<b>bold</b>".into(),
                },
                Turn {
                    role: "assistant".into(),
                    content: "It is **4**.\n\n```\ncode\n```".into(),
                },
            ],
            settings: [("system".to_string(), "Be brief.".to_string())].into(),
            created_at: 1.0,
            updated_at: 2.0,
        }
    }

    #[test]
    fn json_export_imports_back_equal() {
        let list = vec![record("a", "One"), record("b", "Two")];
        let (back, skipped) = parse_import(&to_json(&list)).unwrap();
        assert_eq!(back, list);
        assert_eq!(skipped, 0);
        // one record, and an array of records, import too
        let one = serde_json::to_string(&list[0]).unwrap();
        assert_eq!(parse_import(&one).unwrap().0, vec![list[0].clone()]);
        let arr = serde_json::to_string(&list).unwrap();
        assert_eq!(parse_import(&arr).unwrap().0, list);
    }

    /// The Markdown export, read back by the chat's own renderer (pulldown-cmark): a
    /// heading with the title, the question quoted with its markup as text, the answer's
    /// Markdown kept.
    #[test]
    fn markdown_export_reads_as_the_conversation() {
        let md = to_markdown(&record("a", "Sums # and *stars*"));
        let nodes = crate::markdown::render(&md);
        let html: String = nodes.iter().map(crate::markdown::Node::text).collect();
        assert!(html.starts_with("Sums # and *stars*"), "{html}");
        let shown = format!("{nodes:?}");
        assert!(shown.contains("tag: \"h1\""), "{shown}");
        assert!(shown.contains("tag: \"blockquote\""), "{shown}");
        assert!(shown.contains("What is *2*+2?"), "{shown}");
        assert!(shown.contains("<b>bold</b>"), "{shown}");
        assert!(shown.contains("tag: \"strong\""), "{shown}");
        assert!(shown.contains("tag: \"pre\""), "{shown}");
        assert!(md.contains("*System prompt:* Be brief\\."), "{md}");
    }

    #[test]
    fn bad_files_are_refused_clearly() {
        for (bad, says) in [
            ("not json", "not JSON"),
            ("42", "no conversations"),
            ("[]", "no conversation that hearth can read"),
            ("[{\"id\": 5}]", "no conversation that hearth can read"),
            (
                "{\"format\": \"hearth-conversations\", \"version\": 2, \"conversations\": []}",
                "version 2",
            ),
            (
                "{\"format\": \"hearth-conversations\", \"version\": 1}",
                "not a hearth export",
            ),
        ] {
            let err = parse_import(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let many = format!("[{}]", vec!["{}"; MAX_RECORDS + 1].join(","));
        assert!(parse_import(&many).unwrap_err().contains("at most"));
        // a file with some unreadable records: the rest come in, the others are counted
        let mixed = format!(
            "[{}, {{\"id\": 1}}, \"x\"]",
            serde_json::to_string(&record("a", "One")).unwrap()
        );
        assert_eq!(parse_import(&mixed).unwrap().1, 2);
    }

    #[test]
    fn an_import_never_overwrites_a_conversation() {
        let here = vec![record("a", "One")];
        assert_eq!(merge(&here, record("a", "One"), || "new".into()), None);
        let other = merge(&here, record("a", "Changed"), || "new".into()).unwrap();
        assert_eq!(
            (other.id.as_str(), other.title.as_str()),
            ("new", "Changed")
        );
        assert_eq!(
            merge(&here, record("b", "Two"), || "new".into())
                .unwrap()
                .id,
            "b"
        );
        assert_eq!(
            merge(&here, record("", "Three"), || "new".into())
                .unwrap()
                .id,
            "new"
        );
    }
}
