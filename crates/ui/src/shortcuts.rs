//! The chat's keyboard shortcuts: one list ([`SHORTCUTS`]) that the Settings panel shows
//! and [`handle`] acts on (keys pressed anywhere in the element; Enter and Shift+Enter
//! belong to the message box).

use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::KeyboardEvent;

use super::{Ui, chat};

/// What a shortcut does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// Enter in the message box (handled there).
    Send,
    /// Shift+Enter in the message box (the textarea's own).
    NewLine,
    /// Closes the open panels and the drawer, else stops the answer streaming.
    Escape,
    NewChat,
    SearchConversations,
    FocusMessage,
}

/// A shortcut: its keys as the UI writes them, and what it does.
pub struct Shortcut {
    pub keys: &'static str,
    pub what: &'static str,
    pub action: Action,
}

/// Every shortcut, in the order the Settings panel lists them.
pub const SHORTCUTS: [Shortcut; 6] = [
    Shortcut {
        keys: "Enter",
        what: "Send the message",
        action: Action::Send,
    },
    Shortcut {
        keys: "Shift + Enter",
        what: "New line in the message",
        action: Action::NewLine,
    },
    Shortcut {
        keys: "Esc",
        what: "Close a panel, or stop the answer",
        action: Action::Escape,
    },
    Shortcut {
        keys: "Ctrl + Shift + O",
        what: "New chat",
        action: Action::NewChat,
    },
    Shortcut {
        keys: "Ctrl + K",
        what: "Search conversations",
        action: Action::SearchConversations,
    },
    Shortcut {
        keys: "/",
        what: "Write a message (outside a text box)",
        action: Action::FocusMessage,
    },
];

/// The key press that `keys` writes ("Ctrl + Shift + O"): the key as
/// `KeyboardEvent.key` (lower-cased letters), and whether Ctrl (or ⌘) and Shift are held.
fn press(keys: &str) -> (String, bool, bool) {
    let parts: Vec<&str> = keys.split(" + ").collect();
    let key = match parts.last().copied().unwrap_or("") {
        "Esc" => "Escape".to_string(),
        k => k.to_lowercase(),
    };
    (key, parts.contains(&"Ctrl"), parts.contains(&"Shift"))
}

/// The shortcut a key press means, read from [`SHORTCUTS`]: `key` as
/// `KeyboardEvent.key`, Ctrl or ⌘ held, Shift held, and whether focus is in a text box
/// (where a plain key is text, and Enter belongs to the message box).
pub fn action_of(key: &str, ctrl: bool, shift: bool, in_text: bool) -> Option<Action> {
    let key = key.to_lowercase();
    let key = if key == "escape" {
        "Escape".into()
    } else {
        key
    };
    SHORTCUTS
        .iter()
        .filter(|s| !matches!(s.action, Action::Send | Action::NewLine))
        .find(|s| {
            let (k, c, sh) = press(s.keys);
            let plain = !c && k.chars().count() == 1;
            k == key && c == ctrl && sh == shift && !(plain && in_text)
        })
        .map(|s| s.action)
}

/// Acts on a key press in the element.
pub fn handle(ui: &Rc<Ui>, e: &KeyboardEvent) {
    if e.is_composing() || e.alt_key() {
        return;
    }
    let in_text = e
        .composed_path()
        .get(0)
        .dyn_ref::<web_sys::Element>()
        .is_some_and(|t| matches!(t.tag_name().as_str(), "INPUT" | "TEXTAREA"));
    let ctrl = e.ctrl_key() || e.meta_key();
    let Some(action) = action_of(&e.key(), ctrl, e.shift_key(), in_text) else {
        return;
    };
    let v = &ui.view;
    match action {
        Action::Escape => {
            if !close_panels(ui) && ui.state.borrow().busy {
                ui.host.stop();
            }
        }
        Action::NewChat => {
            e.prevent_default();
            chat::new_chat(ui);
        }
        Action::SearchConversations => {
            e.prevent_default();
            // on a narrow screen the list is a drawer: open it
            let nav_shown = v
                .conversations
                .parent_element()
                .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
                .is_some_and(|n| n.offset_width() > 0);
            if !nav_shown {
                v.app.set_attribute("data-sidebar", "open").ok();
                v.sidebar_button.set_attribute("aria-expanded", "true").ok();
            }
            v.search.focus().ok();
        }
        Action::FocusMessage => {
            e.prevent_default();
            v.input.focus().ok();
        }
        Action::Send | Action::NewLine => {}
    }
}

/// Closes the open panels (focus back on their buttons) and the drawer; whether any was
/// open.
fn close_panels(ui: &Ui) -> bool {
    let v = &ui.view;
    let mut closed = false;
    for (panel, button) in [
        (&v.settings, &v.settings_button),
        (&v.models, &v.models_button),
    ] {
        if !panel.hidden() {
            panel.set_hidden(true);
            button.set_attribute("aria-expanded", "false").ok();
            button.focus().ok();
            closed = true;
        }
    }
    if v.app.get_attribute("data-sidebar").as_deref() == Some("open") {
        v.app.set_attribute("data-sidebar", "closed").ok();
        v.sidebar_button
            .set_attribute("aria-expanded", "false")
            .ok();
        closed = true;
    }
    closed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys the list shows are the ones acted on, as a browser reports them, and no
    /// others are taken from the page.
    #[test]
    fn the_listed_keys_are_the_handled_keys() {
        let cases = [
            ("Escape", false, false, Some(Action::Escape)),
            ("O", true, true, Some(Action::NewChat)),
            ("o", true, true, Some(Action::NewChat)),
            ("k", true, false, Some(Action::SearchConversations)),
            ("/", false, false, Some(Action::FocusMessage)),
            ("k", false, false, None),
            ("o", true, false, None),
            ("k", true, true, None),
            ("Enter", false, false, None),
            ("Enter", false, true, None),
        ];
        for (key, ctrl, shift, want) in cases {
            assert_eq!(
                action_of(key, ctrl, shift, false),
                want,
                "{key} {ctrl} {shift}"
            );
        }
        // in a text box "/" is text; Escape and the Ctrl keys still act
        assert_eq!(action_of("/", false, false, true), None);
        assert_eq!(
            action_of("Escape", false, false, true),
            Some(Action::Escape)
        );
        assert_eq!(
            action_of("k", true, false, true),
            Some(Action::SearchConversations)
        );
    }
}
