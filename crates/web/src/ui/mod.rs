//! The chat UI of `<hearth-chat>`, rendered by this module into the element's shadow root
//! (`web/src/hearth-chat.js` defines the element and hands over a [`Host`]: the engine in
//! its Worker, and the element's events). Messages stream in as Markdown rendered through
//! [`crate::markdown`] into DOM nodes; nothing is ever parsed as HTML.

mod dom;
pub mod settings;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use serde_json::{Value, json};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Element, Event, HtmlElement, HtmlInputElement, HtmlTextAreaElement, KeyboardEvent};

use dom::{add, el, render_into};

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
}

/// One message of the conversation and the element that shows its text.
struct Message {
    role: &'static str,
    content: String,
    body: HtmlElement,
}

/// The UI's elements.
struct View {
    app: HtmlElement,
    status: HtmlElement,
    progress: web_sys::HtmlProgressElement,
    messages: HtmlElement,
    input: HtmlTextAreaElement,
    send: HtmlElement,
    stop: HtmlElement,
    settings: HtmlElement,
    settings_button: HtmlElement,
    system: HtmlTextAreaElement,
    fields: Vec<HtmlInputElement>,
    stats: HtmlElement,
}

struct State {
    messages: Vec<Message>,
    ready: bool,
    busy: bool,
    n_ctx: u64,
}

/// An event handler kept alive while the UI lives.
type Listener = Closure<dyn FnMut(Event)>;

struct Ui {
    host: Host,
    view: View,
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
        let view = build(root, css_url)?;
        let ui = Rc::new(Ui {
            host,
            view,
            state: RefCell::new(State {
                messages: Vec::new(),
                ready: false,
                busy: false,
                n_ctx: 0,
            }),
            listeners: RefCell::new(Vec::new()),
        });
        wire(&ui)?;
        Ok(ChatUi { ui })
    }

    /// Shows the model's download or load progress.
    pub fn progress(&self, phase: &str, loaded: f64, total: f64, rate: f64) {
        let v = &self.ui.view;
        v.progress.set_hidden(false);
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

    /// The model is loaded: `info` is the engine's JSON facts (name, n_ctx, …).
    pub fn ready(&self, info: &str) {
        let info: Value = serde_json::from_str(info).unwrap_or(Value::Null);
        let name = info["name"].as_str().unwrap_or("the model");
        {
            let mut s = self.ui.state.borrow_mut();
            s.ready = true;
            s.n_ctx = info["n_ctx"].as_u64().unwrap_or(0);
        }
        let v = &self.ui.view;
        v.progress.set_hidden(true);
        v.status.set_text_content(Some(&format!("{name} · ready")));
        v.app.set_attribute("data-state", "ready").ok();
        update_controls(&self.ui);
        v.input.focus().ok();
    }

    /// The model could not be loaded (or the browser cannot run it): says why.
    pub fn failed(&self, message: &str) {
        let v = &self.ui.view;
        v.progress.set_hidden(true);
        v.status.set_text_content(Some(message));
        v.app.set_attribute("data-state", "error").ok();
    }

    /// Sets the system prompt (the element's `system-prompt` attribute).
    pub fn set_system_prompt(&self, text: &str) {
        self.ui.view.system.set_value(text);
    }

    /// Sets the theme: "light", "dark" or "auto" (anything else is "auto").
    pub fn set_theme(&self, theme: &str) {
        let t = match theme {
            "light" | "dark" => theme,
            _ => "auto",
        };
        self.ui.view.app.set_attribute("data-theme", t).ok();
    }
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

fn build(root: &Element, css_url: &str) -> Result<View, JsValue> {
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
    let new_chat = add(
        &header,
        el(
            "button",
            &[
                ("type", "button"),
                ("class", "new"),
                ("aria-label", "New chat"),
            ],
            "New chat",
        )?,
    )?;
    new_chat.set_attribute("data-action", "new")?;
    add(&header, el("span", &[("class", "title")], "hearth")?)?;
    let status = add(
        &header,
        el(
            "span",
            &[("class", "status"), ("role", "status")],
            "Starting…",
        )?,
    )?;
    let settings_button = add(
        &header,
        el(
            "button",
            &[
                ("type", "button"),
                ("class", "settings-button"),
                ("aria-label", "Settings"),
                ("aria-expanded", "false"),
                ("aria-controls", "settings"),
            ],
            "Settings",
        )?,
    )?;

    let progress: web_sys::HtmlProgressElement =
        add(&app, el("progress", &[("class", "progress")], "")?)?.unchecked_into();
    progress.set_hidden(true);

    let settings = add(
        &app,
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
    let label = add(&settings, el("label", &[], "System prompt")?)?;
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
        input.set_value(f.default);
        fields.push(input);
    }

    let messages = add(
        &app,
        el(
            "main",
            &[
                ("class", "messages"),
                ("role", "log"),
                ("aria-live", "polite"),
                ("aria-label", "Conversation"),
            ],
            "",
        )?,
    )?;

    let composer = add(&app, el("form", &[("class", "composer")], "")?)?;
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
    let stop = add(
        &composer,
        el(
            "button",
            &[
                ("type", "button"),
                ("class", "stop"),
                ("aria-label", "Stop"),
            ],
            "Stop",
        )?,
    )?;
    stop.set_hidden(true);
    let stats = add(&app, el("footer", &[("class", "stats")], "")?)?;

    Ok(View {
        app,
        status,
        progress,
        messages,
        input,
        send,
        stop,
        settings,
        settings_button,
        system,
        fields,
        stats,
    })
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
    let composer = v.input.parent_element().ok_or("no composer")?;
    listen(ui, &composer, "submit", |ui, e| {
        e.prevent_default();
        send(ui);
    })?;
    listen(ui, &v.input, "keydown", |ui, e| {
        let Some(k) = e.dyn_ref::<KeyboardEvent>() else {
            return;
        };
        if k.key() == "Enter" && !k.shift_key() && !k.is_composing() {
            e.prevent_default();
            send(ui);
        }
    })?;
    listen(ui, &v.stop, "click", |ui, _| ui.host.stop())?;
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
    let header = v.status.parent_element().ok_or("no header")?;
    listen(ui, &header, "click", |ui, e| {
        let target = e.target().and_then(|t| t.dyn_into::<Element>().ok());
        if target
            .and_then(|t| t.closest("[data-action=new]").ok().flatten())
            .is_some()
        {
            new_chat(ui);
        }
    })?;
    // the copy buttons of code blocks, delegated
    listen(ui, &v.messages, "click", |_, e| {
        let Some(t) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
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

fn new_chat(ui: &Rc<Ui>) {
    if ui.state.borrow().busy {
        ui.host.stop();
    }
    ui.state.borrow_mut().messages.clear();
    ui.view.messages.set_text_content(None);
    ui.view.stats.set_text_content(None);
    ui.view.input.focus().ok();
}

/// Appends a message's element; the user's text is shown as typed, the model's as
/// Markdown.
fn add_message(ui: &Ui, role: &'static str, content: &str) -> Result<HtmlElement, JsValue> {
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

fn show(role: &str, body: &HtmlElement, content: &str) {
    if role == "user" {
        body.set_text_content(Some(content));
    } else {
        let _ = render_into(body, &crate::markdown::render(content));
    }
}

/// Sends the composer's text as the next user turn and streams the answer.
fn send(ui: &Rc<Ui>) {
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
    let Ok(answer_body) = add_message(ui, "assistant", "") else {
        return;
    };
    ui.view.input.set_value("");
    let request = {
        let mut s = ui.state.borrow_mut();
        s.busy = true;
        s.messages.push(Message {
            role: "user",
            content: text.to_string(),
            body: user_body,
        });
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
        });
        let values: Vec<String> = ui.view.fields.iter().map(|f| f.value()).collect();
        let mut req = settings::sampling(&values);
        req.insert("messages".into(), Value::Array(messages));
        Value::Object(req).to_string()
    };
    update_controls(ui);
    ui.host.emit(
        "message",
        &json!({"role": "user", "content": text}).to_string(),
    );
    let ui = ui.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let first = Rc::new(RefCell::new(None::<f64>));
        let weak = Rc::downgrade(&ui);
        let seen = first.clone();
        let on_delta = Closure::<dyn FnMut(String)>::new(move |piece: String| {
            seen.borrow_mut().get_or_insert_with(js_sys::Date::now);
            if let Some(ui) = weak.upgrade() {
                let mut s = ui.state.borrow_mut();
                if let Some(m) = s.messages.last_mut() {
                    m.content.push_str(&piece);
                    show(m.role, &m.body, &m.content);
                }
            }
        });
        let result = match ui.host.chat(&request, on_delta.as_ref().unchecked_ref()) {
            Ok(p) => JsFuture::from(p).await,
            Err(e) => Err(e),
        };
        drop(on_delta);
        let end = js_sys::Date::now();
        finish(&ui, result, first.borrow().map(|t| (end - t) / 1000.0));
    });
}

/// After a request: the stats line, or the error in the answer's place.
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
            let content = ui
                .state
                .borrow()
                .messages
                .last()
                .map(|m| m.content.clone())
                .unwrap_or_default();
            ui.host.emit("message", &json!({"role": "assistant", "content": content, "finish_reason": r["finish_reason"]}).to_string());
        }
        Err(e) => {
            let msg = e
                .dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .or_else(|| e.as_string())
                .unwrap_or_else(|| "the request failed".into());
            if let Some(m) = ui.state.borrow().messages.last() {
                m.body.set_text_content(Some(&format!("Error: {msg}")));
                m.body.set_attribute("class", "body error").ok();
            }
            ui.host.emit("error", &json!({"message": msg}).to_string());
        }
    }
}
