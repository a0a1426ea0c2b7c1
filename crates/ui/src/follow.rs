//! The message list follows the conversation: while the reader is at the bottom, new
//! messages and a streaming answer stay in view; once they scroll up, the list stays
//! where they put it and a "Jump to latest" button brings them back down.

use super::Ui;

/// How close to the bottom (px) still counts as at the bottom: a fraction of a line, so
/// that rounding and a last growing line do not unpin the reader.
const SLACK_PX: i32 = 24;

/// Whether the list's scroll position is at its end.
fn at_bottom(ui: &Ui) -> bool {
    let m = &ui.view.messages;
    m.scroll_height() - m.scroll_top() - m.client_height() <= SLACK_PX
}

/// The reader scrolled: they follow again once they are at the bottom, and stop
/// following when they leave it.
pub fn scrolled(ui: &Ui) {
    let pinned = at_bottom(ui);
    ui.pinned.set(pinned);
    ui.view.jump.set_hidden(pinned);
}

/// The list's content changed (a message added, a piece streamed, a conversation opened):
/// keeps the end in view when the reader follows, else offers the jump.
pub fn changed(ui: &Ui) {
    if ui.pinned.get() {
        to_bottom(ui);
    } else {
        ui.view.jump.set_hidden(at_bottom(ui));
    }
}

/// Follows from now on and shows the end (a sent message, the jump button, a new or
/// opened conversation).
pub fn pin(ui: &Ui) {
    ui.pinned.set(true);
    to_bottom(ui);
}

fn to_bottom(ui: &Ui) {
    let m = &ui.view.messages;
    m.set_scroll_top(m.scroll_height());
    ui.view.jump.set_hidden(true);
}
