//! A streamed answer's Markdown drawn piece by piece into a detached element, as the chat
//! draws it, for a browser test and a benchmark (web/tests/markdown.test.mjs,
//! web/bench/render.mjs): each piece rebuilt whole (`full`, what the chat did before),
//! patched (`patch`, what it does), or patched and checked after every piece against a
//! whole rebuild of the same text (`check`).

use serde_json::json;
use wasm_bindgen::prelude::*;

use super::dom::{document, patch_into, render_into};
use crate::markdown::render;

/// Streams `text` in pieces of `step` characters (the last one shorter) in `mode`
/// ("full", "patch" or "check"). Returns JSON: `{ms, render_ms, pieces, html, mismatch}`:
/// the whole time, the part of it in the DOM work (the parse excluded), the count of
/// pieces, the final innerHTML, and in check mode the first piece (its end, in
/// characters) after which the patched DOM differed from the rebuilt one, or null.
#[wasm_bindgen]
pub fn stream_render(text: &str, step: usize, mode: &str) -> Result<String, JsValue> {
    let doc = document()?;
    let now = || js_sys::Date::now();
    let target = doc.create_element("div")?;
    let fresh = doc.create_element("div")?;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let step = step.max(1);
    let (mut shown, mut mismatch, mut pieces, mut dom_ms) = (Vec::new(), None, 0, 0.0);
    let t0 = now();
    for end in (step..chars.len() + step).step_by(step) {
        let cut = chars.get(end).map_or(text.len(), |&(i, _)| i);
        let nodes = render(&text[..cut]);
        let t = now();
        match mode {
            "full" => render_into(&target, &nodes)?,
            "patch" | "check" => patch_into(&target, &shown, &nodes)?,
            other => return Err(JsValue::from_str(&format!("unknown mode {other:?}"))),
        }
        dom_ms += now() - t;
        if mode == "check" && mismatch.is_none() {
            render_into(&fresh, &nodes)?;
            if fresh.inner_html() != target.inner_html() {
                mismatch = Some(end.min(chars.len()));
            }
        }
        shown = nodes;
        pieces += 1;
    }
    Ok(json!({
        "ms": now() - t0,
        "render_ms": dom_ms,
        "pieces": pieces,
        "html": target.inner_html(),
        "mismatch": mismatch,
    })
    .to_string())
}
