//! The model manager: the models stored in this browser with their families and sizes, the storage
//! used and available, Use and Delete for each, the catalog's recommended models marked
//! whether they fit this device (crate::catalog), and a model added by URL. The host does
//! the work (IndexedDB, the engine, fetching the catalog); this draws what it reports, as
//! text.

use std::rc::Rc;

use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Element;

use super::chat::{message_of, notice};
use super::dom::{add, el};
use super::{Ui, catalog};

/// What the host reports (see hearth-chat.js).
#[derive(Deserialize, Default)]
struct Report {
    #[serde(default)]
    models: Vec<Stored>,
    usage: Option<f64>,
    quota: Option<f64>,
    /// The model the element is set to.
    #[serde(default)]
    current: String,
    /// The catalog file's text, with each entry's URL resolved by the host in `urls`
    /// (same order), or why it could not be read; none without a catalog.
    #[serde(default)]
    catalog: Option<String>,
    #[serde(default)]
    catalog_error: Option<String>,
    /// The catalog's base URL, to resolve relative entries.
    #[serde(default)]
    catalog_base: String,
    /// What the host knows of this device.
    #[serde(default)]
    device: catalog::Device,
    /// Bytes of the conversations' KV snapshots (snapshots.js), part of `usage`.
    #[serde(default)]
    snapshot_bytes: f64,
}

#[derive(Deserialize)]
struct Stored {
    url: String,
    /// The file name.
    #[serde(default)]
    name: String,
    /// `general.name`, once the header was read.
    #[serde(default)]
    title: String,
    /// `general.architecture` and its family ("gemma3", "Gemma 3"), likewise.
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    family: String,
    #[serde(default)]
    size: f64,
    #[serde(default)]
    stored: f64,
    #[serde(default)]
    complete: bool,
}

/// "98.4 MB".
pub fn megabytes(bytes: f64) -> String {
    if bytes >= 1e9 {
        format!("{:.2} GB", bytes / 1e9)
    } else {
        format!("{:.1} MB", bytes / 1e6)
    }
}

/// The last segment of a URL's path: a model's file name.
fn file_name(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/').find(|s| !s.is_empty()).unwrap_or(url)
}

/// A button of a model's row: `action` ("use" or "delete", read by [`clicked`]), its
/// accessible `label` and its `text`.
fn action_button(li: &Element, action: &str, label: &str, text: &str) -> Result<(), JsValue> {
    let attrs = [
        ("type", "button"),
        ("data-action", action),
        ("aria-label", label),
    ];
    add(li, el("button", &attrs, text)?)?;
    Ok(())
}

/// Asks the host for the stored models and redraws the panel.
pub fn refresh(ui: &Rc<Ui>) {
    let ui = ui.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let report = match ui.host.models() {
            Ok(p) => JsFuture::from(p).await,
            Err(e) => Err(e),
        };
        match report {
            Ok(json) => {
                let report: Report = json
                    .as_string()
                    .and_then(|j| serde_json::from_str(&j).ok())
                    .unwrap_or_default();
                let _ = draw(&ui, &report);
            }
            Err(e) => notice(
                &ui,
                &format!("The stored models cannot be read: {}", message_of(&e)),
            ),
        }
    });
}

fn draw(ui: &Ui, r: &Report) -> Result<(), JsValue> {
    let v = &ui.view;
    let mut storage = match (r.usage, r.quota) {
        (Some(used), Some(quota)) if quota > 0.0 => format!(
            "This site stores {} of the {} the browser allows it ({} free).",
            megabytes(used),
            megabytes(quota),
            megabytes((quota - used).max(0.0))
        ),
        _ => "The browser does not say how much it can store.".into(),
    };
    if r.snapshot_bytes > 0.0 {
        storage.push_str(&format!(
            " Of it, {} keeps conversations ready to resume (their KV caches; the least recently used go first).",
            megabytes(r.snapshot_bytes)
        ));
    }
    v.storage.set_text_content(Some(&storage));
    let list = &v.model_list;
    list.set_text_content(None);
    if r.models.is_empty() {
        add(
            list,
            el("li", &[("class", "empty")], "No model is stored yet.")?,
        )?;
    }
    for m in &r.models {
        item(list, m, m.url == r.current)?;
    }
    draw_catalog(ui, r)
}

/// Resolves a catalog entry's URL against the catalog's own (the same as `new URL(url,
/// base)` for the relative paths a catalog holds).
fn resolve(url: &str, base: &str) -> String {
    web_sys::Url::new_with_base(url, base)
        .map(|u| u.href())
        .unwrap_or_else(|_| url.to_string())
}

fn draw_catalog(ui: &Ui, r: &Report) -> Result<(), JsValue> {
    let v = &ui.view;
    let list = &v.catalog_list;
    list.set_text_content(None);
    // the file, or why there is none to show
    let read = match (r.catalog.as_deref(), &r.catalog_error) {
        (Some(text), _) => catalog::parse(text),
        (None, Some(e)) => Err(e.clone()),
        (None, None) => {
            v.catalog_title.set_hidden(true);
            return Ok(());
        }
    };
    v.catalog_title.set_hidden(false);
    let read = match read {
        Ok(c) => c,
        Err(e) => {
            let text = format!("The catalog cannot be read: {e}");
            add(list, el("li", &[("class", "empty")], &text)?)?;
            return Ok(());
        }
    };
    let free = match (r.usage, r.quota) {
        (Some(used), Some(quota)) if quota > 0.0 => Some((quota - used).max(0.0)),
        _ => None,
    };
    let device = catalog::Device {
        storage_free: free,
        ..r.device.clone()
    };
    for e in &read.entries {
        let url = resolve(&e.url, &r.catalog_base);
        let stored = r.models.iter().find(|m| m.url == url);
        let have = stored.map_or(0.0, |m| m.stored);
        let fit = catalog::fit(e, &device, have);
        let li = add(
            list,
            el(
                "li",
                &[
                    ("data-url", &url),
                    ("data-fits", if fit.fits { "yes" } else { "no" }),
                ],
                "",
            )?,
        )?;
        add(
            &li,
            el("span", &[("class", "name"), ("title", &url)], &e.name)?,
        )?;
        if !e.family.is_empty() {
            add(&li, el("span", &[("class", "family")], &e.family)?)?;
        }
        let mut facts = vec![megabytes(e.size)];
        if e.context > 0 {
            facts.push(format!("{} tokens of context", e.context));
        }
        if !e.licence.is_empty() {
            facts.push(e.licence.clone());
        }
        add(&li, el("span", &[("class", "size")], &facts.join(" · "))?)?;
        let mark = if fit.fits {
            "Fits this device"
        } else {
            "Does not fit this device"
        };
        add(
            &li,
            el(
                "span",
                &[("class", if fit.fits { "fit yes" } else { "fit no" })],
                &format!("{mark}: {}", fit.notes.join("; ")),
            )?,
        )?;
        let current = url == r.current;
        if !current {
            let complete = stored.is_some_and(|m| m.complete);
            let (text, verb) = if complete {
                ("Use", "Use")
            } else if have > 0.0 {
                ("Resume", "Resume downloading")
            } else {
                ("Download", "Download")
            };
            let label = format!("{verb} {}", e.name);
            action_button(&li, "use", &label, text)?;
        }
    }
    if read.skipped > 0 {
        add(
            list,
            el(
                "li",
                &[("class", "empty")],
                &format!("{} catalog entries could not be read.", read.skipped),
            )?,
        )?;
    }
    Ok(())
}

fn item(list: &Element, m: &Stored, current: bool) -> Result<(), JsValue> {
    let li = add(list, el("li", &[("data-url", &m.url)], "")?)?;
    let name = [&m.title, &m.name]
        .into_iter()
        .find(|n| !n.trim().is_empty())
        .map_or(file_name(&m.url), |n| n.as_str());
    add(
        &li,
        el("span", &[("class", "name"), ("title", &m.url)], name)?,
    )?;
    if !m.family.is_empty() {
        let arch = format!("architecture {}", m.architecture);
        add(
            &li,
            el("span", &[("class", "family"), ("title", &arch)], &m.family)?,
        )?;
    }
    let state = if m.complete {
        megabytes(m.size)
    } else {
        format!("{} of {} stored", megabytes(m.stored), megabytes(m.size))
    };
    let state = if current {
        format!("{state} · in use")
    } else {
        state
    };
    add(&li, el("span", &[("class", "size")], &state)?)?;
    if !current {
        let label = format!("Use {name}");
        action_button(&li, "use", &label, "Use")?;
    }
    let label = format!("Delete {name}");
    action_button(&li, "delete", &label, "Delete")?;
    Ok(())
}

/// Handles a click in the list: Use or Delete.
pub fn clicked(ui: &Rc<Ui>, target: &Element) {
    let Ok(Some(button)) = target.closest("button[data-action]") else {
        return;
    };
    let Some(url) = button
        .closest("li[data-url]")
        .ok()
        .flatten()
        .and_then(|li| li.get_attribute("data-url"))
    else {
        return;
    };
    match button.get_attribute("data-action").as_deref() {
        Some("use") => ui.host.use_model(&url),
        Some("delete") => {
            let sure = web_sys::window()
                .and_then(|w| {
                    w.confirm_with_message(&format!(
                        "Delete the stored model {}? It would have to be downloaded again.",
                        file_name(&url)
                    ))
                    .ok()
                })
                .unwrap_or(false);
            if sure {
                let ui = ui.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let done = match ui.host.delete_model(&url) {
                        Ok(p) => JsFuture::from(p).await,
                        Err(e) => Err(e),
                    };
                    if let Err(e) = done {
                        notice(
                            &ui,
                            &format!("The model could not be deleted: {}", message_of(&e)),
                        );
                    }
                    refresh(&ui);
                });
            }
        }
        _ => {}
    }
}

/// The Add form: loads the model at the URL typed (http or https only).
pub fn add_by_url(ui: &Rc<Ui>) {
    let url = ui.view.model_url.value();
    let url = url.trim();
    let ok = url.starts_with("https://") || url.starts_with("http://");
    if !ok {
        notice(
            ui,
            "A model's URL starts with https:// (or http://) and names a GGUF file.",
        );
        return;
    }
    ui.view.model_url.set_value("");
    ui.host.use_model(url);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_names() {
        assert_eq!(megabytes(98_362_432.0), "98.4 MB");
        assert_eq!(megabytes(4.2e9), "4.20 GB");
        assert_eq!(
            file_name("https://h/x/m-00001-of-00003.gguf?download=1"),
            "m-00001-of-00003.gguf"
        );
        assert_eq!(file_name("https://h/"), "h");
        let r: Report =
            serde_json::from_str(r#"{"models": [{"url": "u", "size": 5}], "usage": null}"#)
                .unwrap();
        assert_eq!(r.models[0].url, "u");
        assert!(r.usage.is_none() && !r.models[0].complete);
    }
}
