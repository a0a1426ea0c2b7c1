//! The chat UI's elements, built once into the shadow root:
//!
//! ```text
//! header: [Conversations] hearth  status…  [Pause/Resume] [New chat] [Models] [Settings]
//! progress bar (while the model loads)
//! nav (Conversations) | models panel (hidden until asked): storage, models, add by URL
//!                     | settings form (hidden until asked)
//!                     | main role=log (the messages)
//!                     | [Jump to latest] (while the reader is scrolled up)
//!                     | notice (context policy, errors)
//!                     | form: textarea "Message" [Send] [Stop]
//!                     | footer: tokens · tokens/s · context
//! ```

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlElement, HtmlInputElement, HtmlProgressElement, HtmlTextAreaElement};

use super::dom::{add, el};
use super::settings;

/// The UI's elements.
pub struct View {
    pub app: HtmlElement,
    pub header: HtmlElement,
    pub status: HtmlElement,
    pub progress: HtmlProgressElement,
    pub pause: HtmlElement,
    pub models_button: HtmlElement,
    pub models: HtmlElement,
    pub storage: HtmlElement,
    pub model_list: HtmlElement,
    /// The catalog's heading and list (hidden without a catalog).
    pub catalog_title: HtmlElement,
    pub catalog_list: HtmlElement,
    pub add_model: HtmlElement,
    pub model_url: HtmlInputElement,
    pub sidebar_button: HtmlElement,
    pub search: HtmlInputElement,
    pub conversations: HtmlElement,
    pub export_json: HtmlElement,
    pub export_markdown: HtmlElement,
    pub import: HtmlInputElement,
    pub settings: HtmlElement,
    pub settings_button: HtmlElement,
    pub system: HtmlTextAreaElement,
    pub preset: web_sys::HtmlSelectElement,
    pub fields: Vec<HtmlInputElement>,
    pub messages: HtmlElement,
    pub jump: HtmlElement,
    pub notice: HtmlElement,
    pub composer: HtmlElement,
    pub input: HtmlTextAreaElement,
    pub send: HtmlElement,
    pub stop: HtmlElement,
    pub stats: HtmlElement,
}

fn button(parent: &Element, class: &str, label: &str, text: &str) -> Result<HtmlElement, JsValue> {
    add(
        parent,
        el(
            "button",
            &[("type", "button"), ("class", class), ("aria-label", label)],
            text,
        )?,
    )
}

/// Builds the UI into `root`, styled by the sheet at `css_url`.
pub fn build(root: &Element, css_url: &str) -> Result<View, JsValue> {
    add(
        root,
        el("link", &[("rel", "stylesheet"), ("href", css_url)], "")?,
    )?;
    let app = add(
        root,
        el(
            "div",
            &[
                ("class", "app"),
                ("data-theme", "auto"),
                ("data-state", "loading"),
            ],
            "",
        )?,
    )?;

    let header = add(&app, el("header", &[], "")?)?;
    let sidebar_button = button(&header, "sidebar-button", "Conversations", "☰")?;
    sidebar_button.set_attribute("aria-expanded", "false")?;
    sidebar_button.set_attribute("aria-controls", "conversations")?;
    add(&header, el("span", &[("class", "title")], "hearth")?)?;
    let status = add(
        &header,
        el(
            "span",
            &[("class", "status"), ("role", "status")],
            "Starting…",
        )?,
    )?;
    let pause = button(&header, "pause", "Pause download", "Pause")?;
    pause.set_hidden(true);
    button(&header, "new", "New chat", "New chat")?.set_attribute("data-action", "new")?;
    let models_button = button(&header, "models-button", "Models", "Models")?;
    models_button.set_attribute("aria-expanded", "false")?;
    models_button.set_attribute("aria-controls", "models")?;
    let settings_button = button(&header, "settings-button", "Settings", "Settings")?;
    settings_button.set_attribute("aria-expanded", "false")?;
    settings_button.set_attribute("aria-controls", "settings")?;

    let progress: HtmlProgressElement =
        add(&app, el("progress", &[("class", "progress")], "")?)?.unchecked_into();
    progress.set_hidden(true);

    let row = add(&app, el("div", &[("class", "row")], "")?)?;
    let nav = add(
        &row,
        el(
            "nav",
            &[
                ("class", "sidebar"),
                ("id", "conversations"),
                ("aria-label", "Conversations"),
            ],
            "",
        )?,
    )?;
    let search: HtmlInputElement = add(
        &nav,
        el(
            "input",
            &[
                ("type", "search"),
                ("class", "search"),
                ("aria-label", "Search conversations"),
                ("placeholder", "Search"),
            ],
            "",
        )?,
    )?
    .unchecked_into();
    let conversations = add(&nav, el("ul", &[("class", "conversations")], "")?)?;
    let transfer = add(&nav, el("div", &[("class", "transfer")], "")?)?;
    let export_json = button(
        &transfer,
        "export-json",
        "Export all as JSON",
        "Export JSON",
    )?;
    let export_markdown = button(
        &transfer,
        "export-md",
        "Export this conversation as Markdown",
        "Export Markdown",
    )?;
    // a label styled as a button opens the file picker
    let pick = add(&transfer, el("label", &[("class", "import")], "Import")?)?;
    let import: HtmlInputElement = add(
        &pick,
        el(
            "input",
            &[
                ("type", "file"),
                ("accept", ".json,application/json"),
                ("aria-label", "Import conversations"),
            ],
            "",
        )?,
    )?
    .unchecked_into();
    let column = add(&row, el("div", &[("class", "column")], "")?)?;

    let models = add(
        &column,
        el(
            "section",
            &[
                ("class", "models"),
                ("id", "models"),
                ("aria-label", "Models"),
            ],
            "",
        )?,
    )?;
    models.set_hidden(true);
    let storage = add(&models, el("p", &[("class", "storage")], "")?)?;
    let model_list = add(&models, el("ul", &[("class", "model-list")], "")?)?;
    let catalog_title = add(
        &models,
        el("h2", &[("class", "catalog-title")], "Recommended")?,
    )?;
    catalog_title.set_hidden(true);
    let catalog_list = add(
        &models,
        el(
            "ul",
            &[
                ("class", "model-list catalog"),
                ("aria-label", "Recommended models"),
            ],
            "",
        )?,
    )?;
    let add_model = add(&models, el("form", &[("class", "add-model")], "")?)?;
    let model_url: HtmlInputElement = add(
        &add_model,
        el(
            "input",
            &[
                ("type", "url"),
                ("aria-label", "Model URL"),
                ("placeholder", "https://…/model.gguf"),
                ("required", ""),
            ],
            "",
        )?,
    )?
    .unchecked_into();
    add(
        &add_model,
        el(
            "button",
            &[("type", "submit"), ("aria-label", "Add model")],
            "Add model",
        )?,
    )?;

    let settings = add(
        &column,
        el(
            "form",
            &[
                ("class", "settings"),
                ("id", "settings"),
                ("aria-label", "Settings"),
            ],
            "",
        )?,
    )?;
    settings.set_hidden(true);
    let label = add(&settings, el("label", &[("class", "preset")], "Preset")?)?;
    let preset: web_sys::HtmlSelectElement =
        add(&label, el("select", &[("name", "preset")], "")?)?.unchecked_into();
    for (name, _) in settings::PRESETS.iter().chain(&[("Custom", "")]) {
        add(&preset, el("option", &[("value", name)], name)?)?;
    }
    let label = add(
        &settings,
        el("label", &[("class", "system")], "System prompt")?,
    )?;
    let system: HtmlTextAreaElement = add(
        &label,
        el("textarea", &[("name", "system"), ("rows", "2")], "")?,
    )?
    .unchecked_into();
    let mut fields = Vec::new();
    for f in settings::FIELDS.iter() {
        let label = add(&settings, el("label", &[], f.label)?)?;
        let input: HtmlInputElement = add(
            &label,
            el(
                "input",
                &[
                    ("type", "number"),
                    ("name", f.key),
                    ("step", f.step),
                    ("min", &f.min.to_string()),
                    ("max", &f.max.to_string()),
                    ("inputmode", "decimal"),
                ],
                "",
            )?,
        )?
        .unchecked_into();
        input.set_value(&f.chat_text());
        fields.push(input);
    }

    let keys = add(
        &settings,
        el(
            "section",
            &[("class", "shortcuts"), ("aria-label", "Keyboard shortcuts")],
            "",
        )?,
    )?;
    add(&keys, el("h3", &[], "Keyboard shortcuts")?)?;
    let list = add(&keys, el("dl", &[], "")?)?;
    for s in &super::shortcuts::SHORTCUTS {
        let dt = add(&list, el("dt", &[], "")?)?;
        add(&dt, el("kbd", &[], s.keys)?)?;
        add(&list, el("dd", &[], s.what)?)?;
    }

    let messages = add(
        &column,
        el(
            "main",
            &[
                ("class", "messages"),
                // focusable: keys scroll it, and the chat's shortcuts reach the element
                ("tabindex", "0"),
                ("role", "log"),
                ("aria-live", "polite"),
                ("aria-label", "Conversation"),
            ],
            "",
        )?,
    )?;
    let jump = button(&column, "jump", "Jump to latest", "↓ Jump to latest")?;
    jump.set_hidden(true);
    let notice = add(
        &column,
        el("p", &[("class", "notice"), ("role", "note")], "")?,
    )?;
    notice.set_hidden(true);

    let composer = add(&column, el("form", &[("class", "composer")], "")?)?;
    let input: HtmlTextAreaElement = add(
        &composer,
        el(
            "textarea",
            &[
                ("aria-label", "Message"),
                ("placeholder", "Message"),
                ("rows", "2"),
                ("name", "message"),
            ],
            "",
        )?,
    )?
    .unchecked_into();
    let send = add(
        &composer,
        el(
            "button",
            &[
                ("type", "submit"),
                ("class", "send"),
                ("aria-label", "Send"),
            ],
            "Send",
        )?,
    )?;
    let stop = button(&composer, "stop", "Stop", "Stop")?;
    stop.set_hidden(true);
    let stats = add(&column, el("footer", &[("class", "stats")], "")?)?;

    Ok(View {
        app,
        header,
        status,
        progress,
        pause,
        models_button,
        models,
        storage,
        model_list,
        catalog_title,
        catalog_list,
        add_model,
        model_url,
        sidebar_button,
        search,
        conversations,
        export_json,
        export_markdown,
        import,
        settings,
        settings_button,
        system,
        preset,
        fields,
        messages,
        jump,
        notice,
        composer,
        input,
        send,
        stop,
        stats,
    })
}
