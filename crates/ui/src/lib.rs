//! hearth-ui: the chat UI of `<hearth-chat>`, the wasm module of the page's thread,
//! rendered into the element's shadow root (`web/src/hearth-chat.js` defines the element
//! and hands over a [`Host`]: the engine in its Worker, and the element's events). Messages
//! stream in as Markdown rendered through [`markdown`] into DOM nodes; nothing is ever
//! parsed as HTML. No engine here (wgpu, the tokenizer, templates): that is hearth-web, in
//! the Worker; what crosses is hearth_protocol's.

mod catalog;
mod chat;
mod conversations;
mod dom;
mod exchange;
mod follow;
pub mod highlight;
pub mod markdown;
mod models;
pub mod settings;
mod shortcuts;
pub mod stream_render;
mod view;

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Element, Event, HtmlElement, KeyboardEvent};

use conversations::Record;
use view::View;

#[wasm_bindgen]
extern "C" {
    /// What the element gives the UI (see hearth-chat.js).
    pub type Host;

    /// Runs a chat request (JSON: messages and sampling), calling `on_delta(text)` for
    /// each streamed piece; resolves to JSON `{finish_reason, prompt_tokens,
    /// completion_tokens}`.
    #[wasm_bindgen(method, catch)]
    fn chat(
        this: &Host,
        request: &str,
        on_delta: &js_sys::Function,
    ) -> Result<js_sys::Promise, JsValue>;

    /// Stops the running request (it then resolves with what it has).
    #[wasm_bindgen(method)]
    fn stop(this: &Host);

    /// Dispatches the element's event `name` with `detail` (a JSON string).
    #[wasm_bindgen(method)]
    fn emit(this: &Host, name: &str, detail: &str);

    /// The saved conversations: resolves to a JSON array of records.
    #[wasm_bindgen(method, catch)]
    fn conversations(this: &Host) -> Result<js_sys::Promise, JsValue>;

    /// Saves one conversation (a JSON record, see [`Record`]).
    #[wasm_bindgen(method, catch)]
    fn save_conversation(this: &Host, record: &str) -> Result<js_sys::Promise, JsValue>;

    /// Deletes the saved conversation `id`.
    #[wasm_bindgen(method, catch)]
    fn delete_conversation(this: &Host, id: &str) -> Result<js_sys::Promise, JsValue>;

    /// The stored models and storage: resolves to JSON {models: [{url, name, size,
    /// stored, complete}], usage, quota, current}.
    #[wasm_bindgen(method, catch)]
    fn models(this: &Host) -> Result<js_sys::Promise, JsValue>;

    /// Switches the element to the model at `url` (downloading it if need be).
    #[wasm_bindgen(method)]
    fn use_model(this: &Host, url: &str);

    /// Deletes a stored model (unloading it first if it is in use).
    #[wasm_bindgen(method, catch)]
    fn delete_model(this: &Host, url: &str) -> Result<js_sys::Promise, JsValue>;

    /// Pauses the model's download (what is stored stays).
    #[wasm_bindgen(method)]
    fn pause(this: &Host);

    /// Resumes a paused download.
    #[wasm_bindgen(method)]
    fn resume(this: &Host);
}

/// One message of the conversation and the element that shows its text.
struct Message {
    role: &'static str,
    content: String,
    body: HtmlElement,
    /// What `body` shows of a streaming answer, for `dom::patch_into` (empty otherwise).
    shown: Vec<crate::markdown::Node>,
}

struct State {
    messages: Vec<Message>,
    ready: bool,
    busy: bool,
    n_ctx: u64,
    /// The URL of the loaded model.
    model: String,
    /// The saved record of the conversation on screen (None until its first message).
    current: Option<Record>,
    /// Every saved conversation, newest change first.
    list: Vec<Record>,
}

/// An event handler kept alive while the UI lives.
type Listener = Closure<dyn FnMut(Event)>;

struct Ui {
    host: Host,
    view: View,
    /// The message list follows the conversation's end (`follow`).
    pinned: Cell<bool>,
    state: RefCell<State>,
    listeners: RefCell<Vec<Listener>>,
}

/// The mounted chat UI; dropping it (`free()` from JS) releases its event handlers.
#[wasm_bindgen]
pub struct ChatUi {
    ui: Rc<Ui>,
}

#[wasm_bindgen]
impl ChatUi {
    /// Builds the UI into `root` (the element's shadow root), styled by the sheet at
    /// `css_url`, talking to the engine through `host`.
    pub fn mount(root: web_sys::ShadowRoot, host: Host, css_url: &str) -> Result<ChatUi, JsValue> {
        let root: &Element = root
            .unchecked_ref::<web_sys::DocumentFragment>()
            .unchecked_ref();
        let view = view::build(root, css_url)?;
        let ui = Rc::new(Ui {
            host,
            view,
            pinned: Cell::new(true),
            state: RefCell::new(State {
                messages: Vec::new(),
                ready: false,
                busy: false,
                n_ctx: 0,
                model: String::new(),
                current: None,
                list: Vec::new(),
            }),
            listeners: RefCell::new(Vec::new()),
        });
        wire(&ui)?;
        conversations::restore(&ui);
        Ok(ChatUi { ui })
    }

    /// A model starts loading (the first, or another one): no chat until it is ready.
    pub fn loading(&self) {
        self.ui.state.borrow_mut().ready = false;
        let v = &self.ui.view;
        v.app.set_attribute("data-state", "loading").ok();
        v.status.set_text_content(Some("Opening the model…"));
        update_controls(&self.ui);
    }

    /// Shows the model's download or load progress.
    pub fn progress(&self, phase: &str, loaded: f64, total: f64, rate: f64) {
        let v = &self.ui.view;
        v.progress.set_hidden(false);
        v.pause.set_hidden(phase != "download");
        v.pause.set_text_content(Some("Pause"));
        v.pause.set_attribute("aria-label", "Pause download").ok();
        if total > 0.0 {
            v.progress.set_max(total);
            v.progress.set_value(loaded);
        }
        let mib = |b: f64| b / (1 << 20) as f64;
        let mut text = match phase {
            "download" => format!(
                "Downloading the model: {:.1} of {:.1} MiB",
                mib(loaded),
                mib(total)
            ),
            _ => format!(
                "Loading the model onto the GPU: {:.0}%",
                100.0 * loaded / total.max(1.0)
            ),
        };
        if phase == "download" && rate > 0.0 && loaded < total {
            let left = (total - loaded) / rate;
            text.push_str(&format!(
                ", {:.1} MiB/s, {} left",
                mib(rate),
                duration(left)
            ));
        }
        v.status.set_text_content(Some(&text));
    }

    /// The model is loaded: `info` is the engine's JSON facts (name, n_ctx, …) and the
    /// model's `url`.
    pub fn ready(&self, info: &str) {
        let info: Value = serde_json::from_str(info).unwrap_or(Value::Null);
        let name = info["name"]
            .as_str()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or("the model");
        {
            let mut s = self.ui.state.borrow_mut();
            s.ready = true;
            s.n_ctx = info["n_ctx"].as_u64().unwrap_or(0);
            s.model = info["url"].as_str().unwrap_or("").to_string();
        }
        let v = &self.ui.view;
        v.progress.set_hidden(true);
        v.pause.set_hidden(true);
        v.status
            .set_text_content(Some(&format!("{name} · ready{}", backend_label(&info))));
        v.status
            .set_attribute("title", info["backend_reason"].as_str().unwrap_or(""))
            .ok();
        v.app.set_attribute("data-state", "ready").ok();
        update_controls(&self.ui);
        if !v.models.hidden() {
            models::refresh(&self.ui);
        }
        v.input.focus().ok();
    }

    /// The download is paused with `stored` of `total` bytes stored: Resume goes on.
    pub fn paused(&self, stored: f64, total: f64) {
        let v = &self.ui.view;
        v.status.set_text_content(Some(&format!(
            "Download paused: {} of {} stored",
            models::megabytes(stored),
            models::megabytes(total)
        )));
        v.pause.set_hidden(false);
        v.pause.set_text_content(Some("Resume"));
        v.pause.set_attribute("aria-label", "Resume download").ok();
        v.app.set_attribute("data-state", "paused").ok();
    }

    /// The model could not be loaded (or the browser cannot run it, or it was deleted):
    /// says why.
    pub fn failed(&self, message: &str) {
        self.ui.state.borrow_mut().ready = false;
        update_controls(&self.ui);
        let v = &self.ui.view;
        v.progress.set_hidden(true);
        v.pause.set_hidden(true);
        v.status.set_text_content(Some(message));
        v.app.set_attribute("data-state", "error").ok();
    }

    /// Sets the system prompt (the element's `system-prompt` attribute).
    pub fn set_system_prompt(&self, text: &str) {
        self.ui.view.system.set_value(text);
        self.ui.view.preset.set_value(settings::preset_of(text));
    }

    /// Sets the theme: "light", "dark" or "auto" (anything else is "auto").
    pub fn set_theme(&self, theme: &str) {
        let t = match theme {
            "light" | "dark" => theme,
            _ => "auto",
        };
        self.ui.view.app.set_attribute("data-theme", t).ok();
    }

    /// The answer asked for waits while another tab's is answered (`other_tab`), or has
    /// its turn: the notice line under the messages says so.
    pub fn waiting(&self, other_tab: bool) {
        chat::notice(
            &self.ui,
            if other_tab {
                "Another tab is answering with this model; this answer starts when it is done."
            } else {
                ""
            },
        );
    }

    /// The engine's Worker ended unexpectedly and a new one took over: the notice line
    /// says so (`message`, from the host).
    pub fn restarted(&self, message: &str) {
        chat::notice(&self.ui, message);
    }

    /// Draws again the answers on screen that hold code, once [`set_highlighter`] has
    /// installed the highlighter (a streaming one is patched, as its pieces are).
    pub fn redraw_code(&self) {
        let mut s = self.ui.state.borrow_mut();
        for m in s.messages.iter_mut().filter(|m| m.role == "assistant") {
            if !matches!(m.body.query_selector("pre"), Ok(Some(_))) {
                continue;
            }
            let new = markdown::render(&m.content);
            if m.shown.is_empty() {
                let _ = dom::render_into(&m.body, &new);
            } else {
                let _ = dom::patch_into(&m.body, &m.shown, &new);
                m.shown = new;
            }
        }
    }
}

/// Installs the syntax highlighter of code blocks for every chat on the page:
/// `tokenize(language, code)` gives Prism's tokens as JSON, `languages` the names it
/// knows, separated by spaces (web/src/syntax.js; see [`highlight`]).
#[wasm_bindgen]
pub fn set_highlighter(tokenize: js_sys::Function, languages: &str) {
    highlight::install(tokenize, languages);
}

/// "1 min 5 s", "12 s".
fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 60 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

/// Adds an event listener whose handler gets the UI (while it lives) and the event.
fn listen(
    ui: &Rc<Ui>,
    target: &web_sys::EventTarget,
    kind: &str,
    f: impl Fn(&Rc<Ui>, Event) + 'static,
) -> Result<(), JsValue> {
    let weak: Weak<Ui> = Rc::downgrade(ui);
    let closure = Closure::<dyn FnMut(Event)>::new(move |e: Event| {
        if let Some(ui) = weak.upgrade() {
            f(&ui, e);
        }
    });
    target.add_event_listener_with_callback(kind, closure.as_ref().unchecked_ref())?;
    ui.listeners.borrow_mut().push(closure);
    Ok(())
}

fn wire(ui: &Rc<Ui>) -> Result<(), JsValue> {
    let v = &ui.view;
    listen(ui, &v.composer, "submit", |ui, e| {
        e.prevent_default();
        chat::send(ui);
    })?;
    listen(ui, &v.input, "keydown", |ui, e| {
        let Some(k) = e.dyn_ref::<KeyboardEvent>() else {
            return;
        };
        if k.key() == "Enter" && !k.shift_key() && !k.is_composing() {
            e.prevent_default();
            chat::send(ui);
        }
    })?;
    listen(ui, &v.stop, "click", |ui, _| ui.host.stop())?;
    listen(ui, &v.messages, "scroll", |ui, _| follow::scrolled(ui))?;
    listen(ui, &v.jump, "click", |ui, _| follow::pin(ui))?;
    listen(ui, &v.settings_button, "click", |ui, _| {
        let s = &ui.view.settings;
        let open = s.hidden();
        s.set_hidden(!open);
        ui.view
            .settings_button
            .set_attribute("aria-expanded", if open { "true" } else { "false" })
            .ok();
    })?;
    listen(ui, &v.settings, "submit", |_, e| e.prevent_default())?;
    // the keyboard shortcuts (Escape closes the open panels and the drawer, …)
    listen(ui, &v.app, "keydown", |ui, e| {
        if let Some(k) = e.dyn_ref::<KeyboardEvent>() {
            shortcuts::handle(ui, k);
        }
    })?;
    // a preset writes its prompt; editing the prompt shows which preset it is
    listen(ui, &v.preset, "change", |ui, _| {
        let name = ui.view.preset.value();
        if let Some((_, prompt)) = settings::PRESETS.iter().find(|(n, _)| *n == name) {
            ui.view.system.set_value(prompt);
            conversations::save(ui);
        }
    })?;
    listen(ui, &v.system, "input", |ui, _| {
        let v = &ui.view;
        v.preset.set_value(settings::preset_of(&v.system.value()));
    })?;
    listen(ui, &v.models_button, "click", |ui, _| {
        let panel = &ui.view.models;
        let open = panel.hidden();
        panel.set_hidden(!open);
        ui.view
            .models_button
            .set_attribute("aria-expanded", if open { "true" } else { "false" })
            .ok();
        if open {
            models::refresh(ui);
        }
    })?;
    // the stored models' and the catalog's buttons
    for list in [&v.model_list, &v.catalog_list] {
        listen(ui, list, "click", |ui, e| {
            if let Some(t) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) {
                models::clicked(ui, &t);
            }
        })?;
    }
    listen(ui, &v.add_model, "submit", |ui, e| {
        e.prevent_default();
        models::add_by_url(ui);
    })?;
    listen(ui, &v.pause, "click", |ui, _| {
        if ui.view.pause.text_content().as_deref() == Some("Resume") {
            ui.host.resume();
        } else {
            ui.host.pause();
        }
    })?;
    // settings are kept per conversation
    listen(ui, &v.settings, "change", |ui, _| conversations::save(ui))?;
    listen(ui, &v.sidebar_button, "click", |ui, _| {
        let app = &ui.view.app;
        // shown by default on wide screens, hidden on narrow ones: flip what is seen
        let shown = ui
            .view
            .conversations
            .parent_element()
            .and_then(|nav| nav.dyn_into::<HtmlElement>().ok())
            .is_some_and(|nav| nav.offset_width() > 0);
        let open = !shown;
        app.set_attribute("data-sidebar", if open { "open" } else { "closed" })
            .ok();
        ui.view
            .sidebar_button
            .set_attribute("aria-expanded", if open { "true" } else { "false" })
            .ok();
    })?;
    listen(ui, &v.header, "click", |ui, e| {
        let target = e.target().and_then(|t| t.dyn_into::<Element>().ok());
        if target
            .and_then(|t| t.closest("[data-action=new]").ok().flatten())
            .is_some()
        {
            chat::new_chat(ui);
        }
    })?;
    listen(ui, &v.search, "input", |ui, _| conversations::render(ui))?;
    listen(ui, &v.export_json, "click", |ui, _| {
        exchange::export_json(ui)
    })?;
    listen(ui, &v.export_markdown, "click", |ui, _| {
        exchange::export_markdown(ui)
    })?;
    listen(ui, &v.import, "change", |ui, _| {
        let input = ui.view.import.clone();
        exchange::import(ui, &input);
    })?;
    listen(ui, &v.conversations, "click", |ui, e| {
        if let Some(t) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) {
            conversations::clicked(ui, &t);
        }
    })?;
    // the copy buttons of code blocks and the last turn's actions, delegated
    listen(ui, &v.messages, "click", |ui, e| {
        let Some(t) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        if let Ok(Some(b)) = t.closest("button[data-action]") {
            match b.get_attribute("data-action").as_deref() {
                Some("regenerate") => chat::regenerate(ui),
                Some("edit") => chat::edit(ui),
                Some("copy") => chat::copy(ui, &b),
                _ => {}
            }
            return;
        }
        let Ok(Some(button)) = t.closest("button.copy") else {
            return;
        };
        let code = button
            .parent_element()
            .and_then(|p| p.query_selector("pre").ok().flatten());
        if let Some(code) = code {
            copy_text(&code.text_content().unwrap_or_default());
            button.set_text_content(Some("Copied"));
        }
    })?;
    update_controls(ui);
    Ok(())
}

/// Writes `text` to the clipboard, if the browser lets the page.
fn copy_text(text: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let clipboard = js_sys::Reflect::get(&window.navigator(), &"clipboard".into()).ok();
    let Some(clipboard) = clipboard.filter(|c| !c.is_undefined()) else {
        return;
    };
    if let Ok(write) = js_sys::Reflect::get(&clipboard, &"writeText".into())
        && let Some(write) = write.dyn_ref::<js_sys::Function>()
    {
        let _ = write.call1(&clipboard, &text.into());
    }
}

/// Which engine runs the model and, when it is not the GPU one would expect, why, for
/// the status line: "" for the GPU on a hardware adapter, " · CPU (no WebGPU)" etc.
fn backend_label(info: &Value) -> String {
    let why = info["backend_reason"].as_str().unwrap_or("");
    let short = if why.contains("no WebGPU") {
        " (no WebGPU)"
    } else if why.contains("software") {
        " (software GPU)"
    } else {
        ""
    };
    match info["backend"].as_str() {
        Some("cpu") => format!(" · CPU{short}"),
        Some("gpu") if why == "asked for" => " · GPU".into(),
        _ => String::new(),
    }
}

/// Send or Stop, and whether the model is ready for a message.
fn update_controls(ui: &Ui) {
    let s = ui.state.borrow();
    let v = &ui.view;
    v.send.set_hidden(s.busy);
    v.stop.set_hidden(!s.busy);
    v.send
        .unchecked_ref::<web_sys::HtmlButtonElement>()
        .set_disabled(!s.ready);
    v.app
        .set_attribute("aria-busy", if s.busy { "true" } else { "false" })
        .ok();
}
