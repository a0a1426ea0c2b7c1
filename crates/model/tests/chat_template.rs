//! Chat templates against Hugging Face transformers' own rendering (the fixtures of
//! scripts/gen-chat-template-fixtures.py), plus the fallback, errors and HF's extensions.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hearth_gguf::{Metadata, Value as GgufValue};
use hearth_model::ModelError;
use hearth_model::chat_template::{CHATML, ChatTemplate, GEMMA, Message};

#[derive(serde::Deserialize)]
struct Fixture {
    name: String,
    source: String,
    bos_token: String,
    eos_token: String,
    template: String,
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    messages: Vec<Message>,
    add_generation_prompt: bool,
    #[serde(default)]
    extra: serde_json::Map<String, serde_json::Value>,
    expected: Option<String>,
    error: Option<String>,
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/chat_templates")
}

fn fixtures() -> Vec<Fixture> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
        .expect("tests/fixtures/chat_templates exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect()
}

fn fixture(name: &str) -> Fixture {
    fixtures()
        .into_iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

fn render(t: &ChatTemplate, messages: &[Message]) -> hearth_model::Result<String> {
    t.render(messages, true, "<s>", "</s>")
}

fn template_error(r: hearth_model::Result<String>) -> String {
    match r {
        Err(ModelError::Template(msg)) => msg,
        other => panic!("expected a template error, got {other:?}"),
    }
}

#[test]
fn every_fixture_case_matches_transformers() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 14, "only {} fixtures", fixtures.len());
    let mut failures = Vec::new();
    let (mut rendered, mut raised) = (0, 0);
    for f in &fixtures {
        assert!(!f.source.is_empty(), "{}: no source", f.name);
        let t = ChatTemplate::new(&f.template)
            .unwrap_or_else(|e| panic!("{}: template does not parse: {e}", f.name));
        for c in &f.cases {
            let got = t.render_with(
                &c.messages,
                c.add_generation_prompt,
                &f.bos_token,
                &f.eos_token,
                &c.extra,
            );
            match (&c.expected, &c.error, got) {
                (Some(want), None, Ok(got)) if *want == got => rendered += 1,
                (None, Some(want), Err(ModelError::Template(got)))
                    if got.contains(want.as_str()) =>
                {
                    raised += 1
                }
                (want, want_err, got) => failures.push(format!(
                    "{} / {}:\n  want {want:?} {want_err:?}\n  got  {got:?}",
                    f.name, c.name
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(rendered >= 300, "only {rendered} rendered cases");
    assert!(raised >= 12, "only {raised} raising cases");
}

#[test]
fn smollm2_template_gives_hf_prompt() {
    let f = fixture("smollm2-135m-instruct");
    let t = ChatTemplate::new(&f.template).unwrap();
    let out = t
        .render(
            &[Message::user("What is the capital of France?")],
            true,
            &f.bos_token,
            &f.eos_token,
        )
        .unwrap();
    assert_eq!(
        out,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    );
}

#[test]
fn chatml_is_the_fixture_template_and_gives_the_design_prompt() {
    assert_eq!(fixture("chatml").template, CHATML);
    let t = ChatTemplate::chatml();
    assert_eq!(t.source(), CHATML);
    assert!(!t.is_fallback());
    let out = render(&t, &[Message::user("What is the capital of France?")]).unwrap();
    assert_eq!(
        out,
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    );
}

fn metadata(template: Option<GgufValue>) -> Metadata {
    let mut map = BTreeMap::new();
    map.insert(
        "general.architecture".to_string(),
        GgufValue::String("llama".into()),
    );
    if let Some(v) = template {
        map.insert("tokenizer.chat_template".to_string(), v);
    }
    Metadata(map)
}

#[test]
fn gguf_without_template_falls_back_to_chatml() {
    let t = ChatTemplate::from_gguf(&metadata(None)).unwrap();
    assert!(t.is_fallback());
    assert_eq!(t.source(), CHATML);
    assert!(t.origin().contains("ChatML"), "{}", t.origin());
    let out = render(&t, &[Message::system("Be brief."), Message::user("Hi")]).unwrap();
    assert_eq!(
        out,
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );

    let empty = ChatTemplate::from_gguf(&metadata(Some(GgufValue::String("  \n".into())))).unwrap();
    assert!(empty.is_fallback());
}

/// A GGUF with Gemma's vocabulary and no template (as Google's base Gemma 3 files ship)
/// gets Google's Gemma 3 template: the text of the fixture that transformers rendered.
#[test]
fn gemma_vocabulary_without_template_falls_back_to_gemma() {
    let gemma = fixture("gemma-3-it");
    assert_eq!(GEMMA, gemma.template);
    let mut meta = metadata(None);
    let tokens = [
        "<pad>",
        "<eos>",
        "<bos>",
        "<start_of_turn>",
        "<end_of_turn>",
        "a",
    ];
    meta.0.insert(
        "tokenizer.ggml.tokens".to_string(),
        GgufValue::Array(
            tokens
                .iter()
                .map(|t| GgufValue::String(t.to_string()))
                .collect(),
        ),
    );
    let t = ChatTemplate::from_gguf(&meta).unwrap();
    assert!(t.is_fallback());
    assert_eq!(t.source(), GEMMA);
    assert!(t.origin().contains("Gemma"), "{}", t.origin());
    let case = gemma
        .cases
        .iter()
        .find(|c| c.expected.is_some() && c.messages.len() >= 2 && c.extra.is_empty())
        .expect("a rendered multi-message case");
    let got = t.render(
        &case.messages,
        case.add_generation_prompt,
        &gemma.bos_token,
        &gemma.eos_token,
    );
    assert_eq!(
        got.unwrap(),
        *case.expected.as_ref().unwrap(),
        "{}",
        case.name
    );

    // one turn marker alone is not Gemma's vocabulary
    meta.0.insert(
        "tokenizer.ggml.tokens".to_string(),
        GgufValue::Array(vec![GgufValue::String("<start_of_turn>".into())]),
    );
    assert_eq!(ChatTemplate::from_gguf(&meta).unwrap().source(), CHATML);
}

#[test]
fn gguf_template_is_used_when_present() {
    let src = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}";
    let t = ChatTemplate::from_gguf(&metadata(Some(GgufValue::String(src.into())))).unwrap();
    assert!(!t.is_fallback());
    assert_eq!(t.source(), src);
    assert!(!t.origin().contains("ChatML"));
    assert_eq!(render(&t, &[Message::user("a")]).unwrap(), "[user] a\n");

    // A template key of the wrong type is an error, not a silent fallback.
    assert!(ChatTemplate::from_gguf(&metadata(Some(GgufValue::U32(7)))).is_err());
}

#[test]
fn raise_exception_is_a_template_error_with_its_message() {
    let t = ChatTemplate::new(
        "{% if messages|length > 1 %}{{ raise_exception('only ' ~ 1 ~ ' message, got ' ~ messages|length) }}{% endif %}ok",
    )
    .unwrap();
    assert_eq!(render(&t, &[Message::user("a")]).unwrap(), "ok");
    let msg = template_error(render(&t, &[Message::user("a"), Message::user("b")]));
    assert!(msg.contains("only 1 message, got 2"), "{msg}");

    // Llama 2 refuses two user turns in a row.
    let llama2 = ChatTemplate::new(&fixture("llama-2-7b-chat").template).unwrap();
    let msg = template_error(render(&llama2, &[Message::user("a"), Message::user("b")]));
    assert!(
        msg.contains("Conversation roles must alternate user/assistant/user/assistant/..."),
        "{msg}"
    );
}

#[test]
fn syntax_errors_are_clear_errors() {
    for (src, want) in [
        ("{% for m in messages %}{{ m.content }}", "line 1"),
        ("line one\n{{ 1 + }}", "line 2"),
        ("{% frobnicate %}", "syntax error"),
        ("{{ x ", "syntax error"),
        ("{% endfor %}", "syntax error"),
        ("{% if %}{% endif %}", "syntax error"),
    ] {
        match ChatTemplate::new(src) {
            Err(ModelError::Template(msg)) => {
                assert!(msg.contains("cannot parse"), "{src:?}: {msg}");
                assert!(msg.contains(want), "{src:?}: {msg}");
            }
            other => panic!("{src:?}: expected a parse error, got {other:?}"),
        }
    }
}

#[test]
fn runtime_errors_are_template_errors() {
    let t = ChatTemplate::new("{{ messages[0].content + 1 }}").unwrap();
    let msg = template_error(render(&t, &[Message::user("a")]));
    assert!(msg.contains("cannot render"), "{msg}");
    let r = ChatTemplate::new("{{ 'x' | no_such_filter }}")
        .and_then(|t| render(&t, &[Message::user("a")]));
    template_error(r);
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "",
        "{{",
        "{%",
        "{#",
        "}}",
        "%}",
        "{{}}",
        "{%%}",
        "{{ messages[ }}",
        "{% set %}",
        "{% for %}",
        "{{ raise_exception() }}",
        "{{ raise_exception(1, 2) }}",
        "{{ tojson }}",
        "{{ messages | tojson(1, 2, 3, 4, 5) }}",
        "{{ messages | tojson(indent=[]) }}",
        "{{ strftime_now() }}",
        "{{ strftime_now('%') }}",
        "\u{0}{{ '\u{0}' }}",
        "{% generation %}",
        "{% endgeneration %}",
        "{%- generation -%}x{%- endgeneration -%}",
        "{{ range(100000000) | length }}",
        "{{ 'a' * 10 }}",
        "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    ];
    for src in inputs {
        if let Ok(t) = ChatTemplate::new(src) {
            let _ = render(&t, &[Message::user("x")]);
        }
    }
}

#[test]
fn empty_conversation_is_an_error() {
    let msg = template_error(ChatTemplate::chatml().render(&[], true, "", ""));
    assert!(msg.contains("empty"), "{msg}");
}

#[test]
fn jinja_in_messages_is_printed_literally() {
    let text =
        "{{ 7 * 7 }} {% if true %}x{% endif %} {# c #} {{ raise_exception('boom') }} {% raw %}";
    let out = render(&ChatTemplate::chatml(), &[Message::user(text)]).unwrap();
    assert_eq!(
        out,
        format!("<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n")
    );
}

#[test]
fn whitespace_control_matches_hf() {
    // trim_blocks + lstrip_blocks, trailing newline dropped (checked against jinja2).
    let t = ChatTemplate::new("  {% if true %}\n  yes\n  {% endif %}\nend\n").unwrap();
    assert_eq!(render(&t, &[Message::user("x")]).unwrap(), "  yes\nend");
}

#[test]
fn hf_extensions_behave_like_python() {
    // Expected strings are what transformers' renderer gives for the same templates.
    let cases = [
        (
            "{{ {'a': [1, 2.5, none, true, 'é\"<\\n'], 'b': {}} | tojson }}",
            "{\"a\": [1, 2.5, null, true, \"é\\\"<\\n\"], \"b\": {}}",
        ),
        (
            "{{ {'a': [1, [], {}], 'b': 1} | tojson(indent=2) }}",
            "{\n  \"a\": [\n    1,\n    [],\n    {}\n  ],\n  \"b\": 1\n}",
        ),
        (
            "{{ {'a': 'é', 'b': 1} | tojson(true, none, none, true) }}",
            "{\"a\": \"\\u00e9\", \"b\": 1}",
        ),
        (
            "{{ {'a': 'é😀', 'b': 1} | tojson(ensure_ascii=true, sort_keys=true, separators=[',', ':']) }}",
            "{\"a\":\"\\u00e9\\ud83d\\ude00\",\"b\":1}",
        ),
        ("{{ [1,2] | tojson(indent='\\t') }}", "[\n\t1,\n\t2\n]"),
        (
            "{{ none }}|{{ true }}|{{ 1.0 }}|{{ 1e20 }}|{{ [1, 'a', none, \"it's\"] }}|{{ {'k': 0.5} }}|{{ 3 }}",
            "None|True|1.0|1e+20|[1, 'a', None, \"it's\"]|{'k': 0.5}|3",
        ),
        (
            "{% for i in range(5) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}",
            "02",
        ),
        (
            "{{ '  a b  '.strip() }}|{{ 'a,b'.split(',') }}|{{ 'hello world'.title() }}|{{ 'abc'.startswith('a') }}",
            "a b|['a', 'b']|Hello World|True",
        ),
        (
            "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}",
            "1",
        ),
        (
            "{{ tools is none }}|{{ documents is none }}|{{ bos_token }}{{ eos_token }}",
            "True|True|<s></s>",
        ),
    ];
    for (src, want) in cases {
        let t = ChatTemplate::new(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(render(&t, &[Message::user("x")]).unwrap(), want, "{src}");
    }
}

#[test]
fn extra_variables_override_defaults() {
    let t = ChatTemplate::new("{{ date_string }}|{{ tools | length }}|{{ bos_token }}").unwrap();
    let extra: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        r#"{"date_string": "26 Jul 2024", "tools": [{"a": 1}], "bos_token": "<B>"}"#,
    )
    .unwrap();
    let out = t
        .render_with(&[Message::user("x")], false, "<s>", "</s>", &extra)
        .unwrap();
    assert_eq!(out, "26 Jul 2024|1|<B>");
}

#[test]
fn strftime_now_gives_todays_date() {
    let t = ChatTemplate::new("{{ strftime_now('%Y-%m-%d|%d %b %Y') }}").unwrap();
    let out = render(&t, &[Message::user("x")]).unwrap();
    let (iso, human) = out.split_once('|').unwrap();
    let parts: Vec<u32> = iso.split('-').map(|p| p.parse().unwrap()).collect();
    assert!(
        parts[0] >= 2025 && (1..=12).contains(&parts[1]) && (1..=31).contains(&parts[2]),
        "{out}"
    );
    assert_eq!(human.len(), 11, "{out}");
    assert!(human.ends_with(&iso[..4]), "{out}");
}

#[test]
fn templates_can_be_shared_across_threads() {
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<ChatTemplate>();
}
