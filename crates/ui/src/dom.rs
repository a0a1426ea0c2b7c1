//! Small DOM helpers for the chat UI: elements with attributes and text, and rendered
//! Markdown ([`crate::markdown::Node`]) turned into nodes. Nothing here parses a string
//! as HTML: text goes in as text nodes, attributes by `setAttribute`.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, HtmlElement};

use crate::markdown::Node;

/// The document the UI lives in.
pub fn document() -> Result<Document, JsValue> {
    web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| JsValue::from_str("no document"))
}

/// `<tag attr=value …>text</tag>`.
pub fn el(tag: &str, attrs: &[(&str, &str)], text: &str) -> Result<HtmlElement, JsValue> {
    let e = document()?.create_element(tag)?;
    for (k, v) in attrs {
        e.set_attribute(k, v)?;
    }
    if !text.is_empty() {
        e.set_text_content(Some(text));
    }
    e.dyn_into::<HtmlElement>()
        .map_err(|_| JsValue::from_str("not an HTML element"))
}

/// Appends `child` to `parent` and returns the child.
pub fn add<T: AsRef<web_sys::Node>>(parent: &Element, child: T) -> Result<T, JsValue> {
    parent.append_child(child.as_ref())?;
    Ok(child)
}

/// Replaces the children of `parent` with the DOM of `nodes`.
pub fn render_into(parent: &Element, nodes: &[Node]) -> Result<(), JsValue> {
    parent.set_text_content(None);
    let doc = document()?;
    for n in nodes {
        parent.append_child(&build(&doc, n)?)?;
    }
    Ok(())
}

/// Turns `parent`'s children, the DOM of `old`, into the DOM of `new`, touching only what
/// differs: the children both share from the start stay as they are, the first that
/// differs is patched in place when it is the same element (or text) with other
/// contents, and the rest is rebuilt. A streamed answer only grows at its end, so each
/// piece costs the size of its last block, not of the whole answer, and what a reader
/// does to the blocks above (a selection, a button's state) survives.
pub fn patch_into(parent: &Element, old: &[Node], new: &[Node]) -> Result<(), JsValue> {
    let doc = document()?;
    patch(&doc, parent, old, new)
}

fn patch(doc: &Document, parent: &Element, old: &[Node], new: &[Node]) -> Result<(), JsValue> {
    let kids = parent.child_nodes();
    if kids.length() as usize != old.len() {
        // not the DOM of `old` (something else changed it): rebuild
        return render_into(parent, new);
    }
    let same = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let mut keep = same;
    if let (Some(a), Some(b), Some(dom)) = (old.get(same), new.get(same), kids.get(same as u32)) {
        let patched = match (a, b) {
            (Node::Text(_), Node::Text(t)) => {
                dom.set_node_value(Some(t));
                true
            }
            (
                Node::Element {
                    tag: ta,
                    attrs: aa,
                    children: ca,
                },
                Node::Element {
                    tag: tb,
                    attrs: ab,
                    children: cb,
                },
            ) if ta == tb && aa == ab => {
                patch(doc, dom.unchecked_ref(), ca, cb)?;
                true
            }
            _ => false,
        };
        if patched {
            keep += 1;
        }
    }
    for i in (keep..old.len()).rev() {
        if let Some(k) = kids.get(i as u32) {
            parent.remove_child(&k)?;
        }
    }
    for n in &new[keep..] {
        parent.append_child(&build(doc, n)?)?;
    }
    Ok(())
}

fn build(doc: &Document, node: &Node) -> Result<web_sys::Node, JsValue> {
    match node {
        Node::Text(t) => Ok(doc.create_text_node(t).into()),
        Node::Element {
            tag,
            attrs,
            children,
        } => {
            let e = doc.create_element(tag)?;
            for (k, v) in attrs {
                e.set_attribute(k, v)?;
            }
            for c in children {
                e.append_child(&build(doc, c)?)?;
            }
            Ok(e.into())
        }
    }
}
