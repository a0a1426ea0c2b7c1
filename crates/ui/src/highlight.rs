//! Syntax highlighting of code blocks. Prism (web/vendor/prism, which hearth-chat.js loads
//! after the first paint through web/src/syntax.js) splits a block's text into tokens; this
//! module turns them into `<span class="token TYPE ALIAS…">` nodes, so the DOM is still
//! built from text nodes only and a streaming answer is still patched, not rebuilt. A block
//! shows plain until Prism is loaded, and for a language it lacks, a block over
//! [`MAX_CODE`] bytes, or tokens that do not spell the block's text.

use serde_json::Value;
use std::cell::RefCell;

use crate::markdown::Node;

/// The longest block highlighted, in bytes: bounds the tokenizer's time on model text.
pub const MAX_CODE: usize = 32 * 1024;

/// Names a fence may give a language by that Prism does not know, and Prism's name for
/// each (Prism's own aliases, `js`, `py`, `sh`, `yml`, `html`…, come from Prism).
const ALIASES: &[(&str, &str)] = &[
    ("rs", "rust"),
    ("golang", "go"),
    ("c++", "cpp"),
    ("h", "c"),
    ("hpp", "cpp"),
    ("zsh", "bash"),
    ("console", "bash"),
    ("shellscript", "bash"),
    ("jsonc", "json"),
    ("json5", "json"),
    ("mjs", "javascript"),
    ("cjs", "javascript"),
    ("python3", "python"),
    ("patch", "diff"),
    ("htm", "html"),
];

/// How many highlighted blocks are remembered (an answer re-rendered piece by piece asks
/// again for every block above the one still growing).
const CACHE: usize = 64;

/// Prism's tokenizer, once loaded: `tokenize(language, code)` gives the tokens as JSON.
struct Tokenizer {
    tokenize: js_sys::Function,
    /// Sorted, for a binary search.
    languages: Vec<String>,
    /// (language, code, nodes), newest last (a small list, searched in order: no hash
    /// tables in the page's module).
    cache: Vec<(String, String, Option<Vec<Node>>)>,
}

thread_local! {
    static TOKENIZER: RefCell<Option<Tokenizer>> = const { RefCell::new(None) };
}

/// Installs Prism's tokenizer and the names of the languages it knows, separated by
/// spaces (see web/src/syntax.js).
pub fn install(tokenize: js_sys::Function, languages: &str) {
    let mut languages: Vec<String> = languages.split_whitespace().map(String::from).collect();
    languages.sort();
    TOKENIZER.with(|t| {
        *t.borrow_mut() = Some(Tokenizer {
            tokenize,
            languages,
            cache: Vec::new(),
        })
    });
}

/// The highlighted children of a code block in `lang` (a fence's first word), or None
/// for plain text.
pub fn spans(lang: &str, code: &str) -> Option<Vec<Node>> {
    if lang.is_empty() || code.len() > MAX_CODE {
        return None;
    }
    TOKENIZER.with(|t| {
        let mut t = t.borrow_mut();
        let t = t.as_mut()?;
        let lang = language(lang, &t.languages)?;
        if let Some((_, _, hit)) = t.cache.iter().find(|(l, c, _)| *l == lang && c == code) {
            return hit.clone();
        }
        let out = t
            .tokenize
            .call2(
                &wasm_bindgen::JsValue::NULL,
                &lang.as_str().into(),
                &code.into(),
            )
            .ok()
            .and_then(|v| v.as_string())
            .and_then(|json| from_tokens(&json, code));
        if t.cache.len() >= CACHE {
            t.cache.clear();
        }
        t.cache.push((lang, code.to_string(), out.clone()));
        out
    })
}

/// Prism's name for the language a fence names, if Prism knows it.
fn language(fence: &str, known: &[String]) -> Option<String> {
    let name = fence.to_ascii_lowercase();
    let name = ALIASES
        .iter()
        .find(|(a, _)| *a == name)
        .map_or(name.as_str(), |(_, p)| p);
    known
        .binary_search_by(|k| k.as_str().cmp(name))
        .is_ok()
        .then(|| name.to_string())
}

/// The nodes of Prism's token stream as JSON (a string, a token `{type, content, alias}`
/// whose content is a stream, or an array of these), or None when it is not that or its
/// text is not `code`: the tokens come from a library fed model text, so they are checked.
pub fn from_tokens(json: &str, code: &str) -> Option<Vec<Node>> {
    let value: Value = serde_json::from_str(json).ok()?;
    let mut out = Vec::new();
    stream(&value, &mut out, 0)?;
    let text: String = out.iter().map(Node::text).collect();
    (text == code).then_some(out)
}

/// Deepest token nesting accepted (Prism's grammars nest a few levels).
const DEPTH: usize = 16;

fn stream(v: &Value, out: &mut Vec<Node>, depth: usize) -> Option<()> {
    if depth > DEPTH {
        return None;
    }
    match v {
        Value::String(s) => push_text(out, s),
        Value::Array(items) => {
            for item in items {
                stream(item, out, depth + 1)?;
            }
        }
        Value::Object(token) => {
            let mut class = String::from("token");
            let kind = token.get("type")?.as_str()?;
            let aliases = match token.get("alias") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::String(a)) => vec![a.as_str()],
                Some(Value::Array(a)) => a.iter().map(Value::as_str).collect::<Option<_>>()?,
                Some(_) => return None,
            };
            for name in std::iter::once(kind).chain(aliases) {
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return None;
                }
                class.push(' ');
                class.push_str(name);
            }
            let mut children = Vec::new();
            stream(token.get("content")?, &mut children, depth + 1)?;
            out.push(Node::Element {
                tag: "span",
                attrs: vec![("class", class)],
                children,
            });
        }
        _ => return None,
    }
    Some(())
}

/// Appends text, joined to a text node before it (as the DOM would normalise it).
fn push_text(out: &mut Vec<Node>, s: &str) {
    if s.is_empty() {
        return;
    }
    match out.last_mut() {
        Some(Node::Text(last)) => last.push_str(s),
        _ => out.push(Node::Text(s.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(class: &str, children: Vec<Node>) -> Node {
        Node::Element {
            tag: "span",
            attrs: vec![("class", class.into())],
            children,
        }
    }

    fn text(s: &str) -> Node {
        Node::Text(s.into())
    }

    /// Prism 1.30's tokens for `def f(): # hi` in Python, as syntax.js passes them
    /// (`JSON.stringify(Prism.tokenize(code, Prism.languages.python), ["type", "content",
    /// "alias"])`, run in Node on web/vendor/prism/prism.js).
    const PYTHON: &str = r##"[{"type":"keyword","content":"def"}," ",{"type":"function","content":"f"},{"type":"punctuation","content":"("},{"type":"punctuation","content":")"},{"type":"punctuation","content":":"}," ",{"type":"comment","content":"# hi"}]"##;

    /// Likewise for the JavaScript template string `` `a${x}` ``: nested streams, aliases.
    const TEMPLATE: &str = r#"[{"type":"template-string","content":[{"type":"template-punctuation","content":"`","alias":"string"},{"type":"string","content":"a"},{"type":"interpolation","content":[{"type":"interpolation-punctuation","content":"${","alias":"punctuation"},"x",{"type":"interpolation-punctuation","content":"}","alias":"punctuation"}]},{"type":"template-punctuation","content":"`","alias":"string"}]}]"#;

    #[test]
    fn prisms_tokens_become_spans_with_its_classes() {
        let nodes = from_tokens(PYTHON, "def f(): # hi").expect("valid tokens");
        assert_eq!(nodes.len(), 8);
        assert_eq!(nodes[0], span("token keyword", vec![text("def")]));
        assert_eq!(nodes[1], text(" "));
        assert_eq!(nodes[7], span("token comment", vec![text("# hi")]));
    }

    #[test]
    fn nested_tokens_and_aliases_keep_their_structure() {
        let nodes = from_tokens(TEMPLATE, "`a${x}`").expect("valid tokens");
        let tick = || span("token template-punctuation string", vec![text("`")]);
        let brace = |s| span("token interpolation-punctuation punctuation", vec![text(s)]);
        assert_eq!(
            nodes,
            vec![span(
                "token template-string",
                vec![
                    tick(),
                    span("token string", vec![text("a")]),
                    span(
                        "token interpolation",
                        vec![brace("${"), text("x"), brace("}")]
                    ),
                    tick(),
                ]
            )]
        );
        // an alias list gives one class each
        let json = r#"[{"type":"k","content":"x","alias":["i","j"]}]"#;
        assert_eq!(
            from_tokens(json, "x"),
            Some(vec![span("token k i j", vec![text("x")])])
        );
    }

    /// Tokens that do not spell the code, odd class names or shapes, too deep a nesting or
    /// broken JSON give None: the block shows plain.
    #[test]
    fn tokens_that_do_not_fit_are_refused() {
        assert_eq!(from_tokens(PYTHON, "def g(): # hi"), None);
        assert_eq!(
            from_tokens(r#"[{"type":"a b","content":"x"}]"#, "x"),
            None,
            "a space would add a class"
        );
        assert_eq!(
            from_tokens(r#"[{"type":"\"><i>","content":"x"}]"#, "x"),
            None
        );
        assert_eq!(from_tokens(r#"[{"content":"x"}]"#, "x"), None);
        assert_eq!(from_tokens(r#"[{"type":"k"}]"#, ""), None);
        assert_eq!(from_tokens(r#"[1]"#, "1"), None);
        assert_eq!(from_tokens(r#"[{"type":"k","content":"x""#, "x"), None);
        let deep = format!("{}\"x\"{}", "[".repeat(40), "]".repeat(40));
        assert_eq!(from_tokens(&deep, "x"), None);
        // and what fits is kept, text runs joined
        assert_eq!(
            from_tokens(r#"["a",["b"],"c"]"#, "abc"),
            Some(vec![text("abc")])
        );
    }

    #[test]
    fn fence_names_map_to_prisms() {
        let known = ["cpp", "py", "python", "rust"].map(String::from);
        assert_eq!(language("Rust", &known).as_deref(), Some("rust"));
        assert_eq!(language("rs", &known).as_deref(), Some("rust"));
        assert_eq!(language("py", &known).as_deref(), Some("py"));
        assert_eq!(language("c++", &known).as_deref(), Some("cpp"));
        assert_eq!(language("cobol", &known), None);
        // names only reach the tokenizer when Prism lists them
        assert_eq!(language("__proto__", &known), None);
        assert_eq!(language("constructor", &known), None);
    }
}
