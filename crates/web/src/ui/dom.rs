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
