//! Markdown (CommonMark with tables and strikethrough) to a small element tree that the
//! chat UI turns into DOM nodes with `createElement` and `createTextNode` only. Model and
//! user text are untrusted: raw HTML becomes text, links keep only http(s) and mailto
//! targets and open in a new tab without an opener, and images become links (loading
//! one would be a network request the user did not ask for).

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};

/// One node of rendered Markdown.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// An element: its tag, attributes and children.
    Element {
        tag: &'static str,
        attrs: Vec<(&'static str, String)>,
        children: Vec<Node>,
    },
    /// Text, shown as is (never parsed as markup).
    Text(String),
}

impl Node {
    fn element(tag: &'static str) -> Node {
        Node::Element {
            tag,
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// The text of this node and its descendants.
    pub fn text(&self) -> String {
        match self {
            Node::Text(t) => t.clone(),
            Node::Element { children, .. } => children.iter().map(Node::text).collect(),
        }
    }
}

/// The link target to keep for `url`: absolute http, https and mailto URLs only.
pub fn safe_href(url: &str) -> Option<String> {
    let url = url.trim();
    let scheme = url.split_once(':')?.0.to_ascii_lowercase();
    let ok = match scheme.as_str() {
        "http" | "https" => url[scheme.len() + 1..].starts_with("//"),
        "mailto" => true,
        _ => false,
    };
    // no control characters or whitespace that a browser would strip to form another URL,
    // nor the invisible ones that make a URL read as another (bidi controls, zero widths)
    (ok && !url
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || invisible(c)))
    .then(|| url.to_string())
}

/// Bidi controls and zero-width characters: they change how a text reads, not what it says.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{061C}' | '\u{FEFF}')
}

/// Renders `text` as a list of block nodes.
pub fn render(text: &str) -> Vec<Node> {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut stack: Vec<Node> = vec![Node::element("div")];
    // inside a table head, cells are <th>
    let mut in_head = false;
    for event in Parser::new_ext(text, options) {
        match event {
            Event::Start(tag) => {
                let node = open(&tag, in_head);
                if matches!(tag, Tag::TableHead) {
                    in_head = true;
                }
                stack.push(node);
            }
            Event::End(end) => {
                if matches!(end, TagEnd::TableHead) {
                    in_head = false;
                }
                let mut node = stack.pop().expect("an end follows its start");
                if let TagEnd::CodeBlock = end {
                    node = code_block(node);
                }
                push(stack.last_mut().expect("the root stays"), node);
            }
            Event::Text(t) | Event::Html(t) | Event::InlineHtml(t) => {
                push_text(stack.last_mut().expect("the root stays"), &t)
            }
            Event::Code(t) => {
                let mut code = Node::element("code");
                push_text(&mut code, &t);
                push(stack.last_mut().expect("the root stays"), code);
            }
            Event::SoftBreak => push_text(stack.last_mut().expect("the root stays"), "\n"),
            Event::HardBreak => push(
                stack.last_mut().expect("the root stays"),
                Node::element("br"),
            ),
            Event::Rule => push(
                stack.last_mut().expect("the root stays"),
                Node::element("hr"),
            ),
            Event::TaskListMarker(done) => push_text(
                stack.last_mut().expect("the root stays"),
                if done { "☑ " } else { "☐ " },
            ),
            Event::FootnoteReference(t) | Event::InlineMath(t) | Event::DisplayMath(t) => {
                push_text(stack.last_mut().expect("the root stays"), &t)
            }
        }
    }
    // the parser closes every tag it opens; the root is what is left
    while stack.len() > 1 {
        let node = stack.pop().expect("checked");
        push(stack.last_mut().expect("checked"), node);
    }
    match stack.pop() {
        Some(Node::Element { children, .. }) => children,
        _ => Vec::new(),
    }
}

/// The element a start tag opens.
fn open(tag: &Tag, in_head: bool) -> Node {
    let el = |tag, attrs| Node::Element {
        tag,
        attrs,
        children: Vec::new(),
    };
    match tag {
        Tag::Paragraph => Node::element("p"),
        Tag::Heading { level, .. } => Node::element(match level {
            HeadingLevel::H1 => "h1",
            HeadingLevel::H2 => "h2",
            HeadingLevel::H3 => "h3",
            HeadingLevel::H4 => "h4",
            HeadingLevel::H5 => "h5",
            HeadingLevel::H6 => "h6",
        }),
        Tag::BlockQuote(_) => Node::element("blockquote"),
        Tag::CodeBlock(kind) => {
            let lang = match kind {
                CodeBlockKind::Fenced(info) => info.split_whitespace().next().unwrap_or(""),
                CodeBlockKind::Indented => "",
            };
            let attrs = if lang.is_empty() {
                Vec::new()
            } else {
                vec![("data-lang", lang.to_string())]
            };
            el("code", attrs)
        }
        Tag::List(Some(start)) if *start != 1 => el("ol", vec![("start", start.to_string())]),
        Tag::List(Some(_)) => Node::element("ol"),
        Tag::List(None) => Node::element("ul"),
        Tag::Item => Node::element("li"),
        Tag::Table(_) => Node::element("table"),
        Tag::TableHead => Node::element("thead"),
        Tag::TableRow => Node::element("tr"),
        Tag::TableCell => Node::element(if in_head { "th" } else { "td" }),
        Tag::Emphasis => Node::element("em"),
        Tag::Strong => Node::element("strong"),
        Tag::Strikethrough => Node::element("del"),
        Tag::Link {
            link_type,
            dest_url,
            ..
        } => link(*link_type, dest_url),
        // an image is shown as a link to it: loading it would reach the network
        Tag::Image { dest_url, .. } => link(LinkType::Inline, dest_url),
        // anything else keeps its text in a neutral wrapper
        _ => Node::element("span"),
    }
}

fn link(link_type: LinkType, dest: &str) -> Node {
    let href = match link_type {
        LinkType::Email => safe_href(&format!("mailto:{dest}")),
        _ => safe_href(dest),
    };
    match href {
        Some(href) => Node::Element {
            tag: "a",
            attrs: vec![
                ("href", href),
                ("target", "_blank".into()),
                ("rel", "noopener noreferrer nofollow".into()),
            ],
            children: Vec::new(),
        },
        None => Node::element("span"),
    }
}

/// A fenced or indented block: `<div class="code"><button>Copy</button><pre><code>`, its
/// text highlighted when [`crate::highlight`] knows its language.
fn code_block(mut code: Node) -> Node {
    if let Node::Element {
        attrs, children, ..
    } = &mut code
    {
        let lang = attrs
            .iter()
            .find(|(k, _)| *k == "data-lang")
            .map_or("", |(_, v)| v.as_str());
        let text: String = children.iter().map(Node::text).collect();
        if let Some(spans) = crate::highlight::spans(lang, &text) {
            *children = spans;
        }
    }
    let copy = Node::Element {
        tag: "button",
        attrs: vec![
            ("class", "copy".into()),
            ("type", "button".into()),
            ("aria-label", "Copy code".into()),
        ],
        children: vec![Node::Text("Copy".into())],
    };
    let pre = Node::Element {
        tag: "pre",
        attrs: Vec::new(),
        children: vec![code],
    };
    Node::Element {
        tag: "div",
        attrs: vec![("class", "code".into())],
        children: vec![copy, pre],
    }
}

fn push(parent: &mut Node, child: Node) {
    if let Node::Element { children, .. } = parent {
        children.push(child);
    }
}

fn push_text(parent: &mut Node, text: &str) {
    if let Node::Element { children, .. } = parent {
        if let Some(Node::Text(last)) = children.last_mut() {
            last.push_str(text);
        } else {
            children.push(Node::Text(text.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree as compact pseudo-HTML, text escaped, for readable assertions.
    fn show(nodes: &[Node]) -> String {
        nodes
            .iter()
            .map(|n| match n {
                Node::Text(t) => t.replace('&', "&amp;").replace('<', "&lt;"),
                Node::Element {
                    tag,
                    attrs,
                    children,
                } => {
                    let attrs: String = attrs.iter().map(|(k, v)| format!(" {k}={v:?}")).collect();
                    format!("<{tag}{attrs}>{}</{tag}>", show(children))
                }
            })
            .collect()
    }

    fn tags(nodes: &[Node], out: &mut Vec<&'static str>) {
        for n in nodes {
            if let Node::Element { tag, children, .. } = n {
                out.push(tag);
                tags(children, out);
            }
        }
    }

    #[test]
    fn blocks_and_inlines() {
        let md = "# Title\n\nSome *em* and **strong** and `code`.\n\n- a\n- b\n\n3. x\n4. y\n";
        assert_eq!(
            show(&render(md)),
            "<h1>Title</h1><p>Some <em>em</em> and <strong>strong</strong> and <code>code</code>.</p>\
             <ul><li>a</li><li>b</li></ul><ol start=\"3\"><li>x</li><li>y</li></ol>"
        );
    }

    #[test]
    fn code_blocks_get_a_copy_button_and_keep_their_text() {
        let out = render("```rust\nfn main() { let x = 1 < 2; }\n```\n");
        assert_eq!(
            show(&out),
            "<div class=\"code\"><button class=\"copy\" type=\"button\" aria-label=\"Copy code\">Copy</button>\
             <pre><code data-lang=\"rust\">fn main() { let x = 1 &lt; 2; }\n</code></pre></div>"
        );
    }

    #[test]
    fn tables() {
        let out = render("| a | b |\n|---|---|\n| 1 | 2 |\n");
        assert_eq!(
            show(&out),
            "<table><thead><th>a</th><th>b</th></thead><tr><td>1</td><td>2</td></tr></table>"
        );
    }

    #[test]
    fn links_open_safely_and_only_for_web_and_mail() {
        let out = render("[ok](https://example.com/a?b=1) [mail](mailto:a@b.c) <https://x.org>");
        let s = show(&out);
        assert!(s.contains("<a href=\"https://example.com/a?b=1\" target=\"_blank\" rel=\"noopener noreferrer nofollow\">ok</a>"), "{s}");
        assert!(s.contains("<a href=\"mailto:a@b.c\""), "{s}");
        assert!(s.contains("<a href=\"https://x.org\""), "{s}");
        for bad in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](  javascript:alert(1))",
            "[x](data:text/html,<script>alert(1)</script>)",
            "[x](vbscript:msgbox)",
            "[x](//evil.example/x)",
            "[x](/relative)",
            "[x](https:evil)",
            "[x](https://good.example/\u{202E}lmth.exe)",
            "[x](https://goo\u{200B}gle.com)",
            "[x](https://a.example/\u{2066}b)",
        ] {
            let out = render(bad);
            let mut t = Vec::new();
            tags(&out, &mut t);
            assert!(!t.contains(&"a"), "{bad} made a link: {}", show(&out));
            assert_eq!(out[0].text(), "x", "{bad}");
        }
    }

    #[test]
    fn raw_html_is_text() {
        for payload in [
            "<img src=x onerror=alert(1)>",
            "<script>alert(1)</script>",
            "hi <b onmouseover=alert(1)>there</b>",
            "<iframe src=\"javascript:alert(1)\"></iframe>",
            "<a href=\"javascript:alert(1)\">click</a>",
        ] {
            let out = render(payload);
            let mut t = Vec::new();
            tags(&out, &mut t);
            assert!(
                t.iter().all(|t| matches!(*t, "p" | "span")),
                "{payload}: {t:?}"
            );
            let text: String = out.iter().map(Node::text).collect();
            assert!(
                text.contains('<') && text.contains("alert(1)"),
                "{payload}: {text}"
            );
        }
    }

    #[test]
    fn images_become_links_and_nothing_loads() {
        let out = render("![a cat](https://example.com/cat.png) ![x](javascript:alert(1))");
        let mut t = Vec::new();
        tags(&out, &mut t);
        assert!(!t.contains(&"img"));
        let s = show(&out);
        assert!(s.contains("<a href=\"https://example.com/cat.png\""), "{s}");
        assert_eq!(s.matches("<a ").count(), 1, "{s}");
    }

    #[test]
    fn unfinished_markdown_while_streaming_renders() {
        // a half-streamed answer: an open fence, an open emphasis, half a table
        for partial in [
            "```py\nprint(1",
            "some **bold",
            "| a | b |\n|--",
            "1. one\n2.",
        ] {
            let out = render(partial);
            assert!(!out.is_empty(), "{partial}");
        }
    }
}
