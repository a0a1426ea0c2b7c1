//! Constrained decoding on the real SmolLM2 (CPU engine): for every JSON Schema of
//! tests/fixtures/structured/schemas.json, greedy and with seeds, the answer parses and
//! validates against its schema (the `jsonschema` crate, independent of llguidance);
//! Lark grammars and regexes likewise (their own checks); bad schemas and grammars are
//! errors before any token; a constraint that leaves no token ends with `no_legal_token`,
//! and an answer cut by max_tokens says `length`.

use hearth_cpu::{CpuModel, CpuSession};
use hearth_gguf::Gguf;
use hearth_model::StopRule;
use hearth_model::chat_template::{ChatTemplate, Message, encode_chat};
use hearth_model::constraint::{Format, Grammars, Next};
use hearth_model::conversation::{Answer, Conversation, Finish};
use hearth_model::sampler::{Sampler, SamplerConfig};
use hearth_model::tokenizer::Tokenizer;
use hearth_model::tools::{ToolCall, ToolChoice, ToolFormat, Tools};

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The real model; missing is a failure (run scripts/fetch-model), never a skip.
fn real_model() -> Vec<u8> {
    let p = root().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}: run scripts/fetch-model", p.display()))
}

struct Rig {
    model: CpuModel,
    tok: Tokenizer,
    template: ChatTemplate,
    grammars: Grammars,
}

impl Rig {
    fn new() -> Rig {
        let bytes = real_model();
        let gguf = Gguf::read(&bytes).unwrap();
        let tok = Tokenizer::from_gguf(&gguf.metadata).unwrap();
        Rig {
            model: CpuModel::load(&gguf, &bytes, 0).unwrap(),
            template: ChatTemplate::from_gguf(&gguf.metadata).unwrap(),
            grammars: Grammars::new(&tok).unwrap(),
            tok,
        }
    }

    /// The answer to `prompt` (a user message) held to `format`.
    fn ask(
        &self,
        prompt: &str,
        format: &Format,
        cfg: SamplerConfig,
        max_tokens: usize,
    ) -> (String, Answer) {
        self.chat(&[Message::user(prompt)], Some(format), cfg, max_tokens)
    }

    /// The answer to `messages`, held to `format` where there is one.
    fn chat(
        &self,
        messages: &[Message],
        format: Option<&Format>,
        cfg: SamplerConfig,
        max_tokens: usize,
    ) -> (String, Answer) {
        let ids = encode_chat(&self.template, &self.tok, messages).unwrap();
        let mut constraint = format.map(|f| self.grammars.compile(f).unwrap());
        let mut ctx = CpuSession::new(&self.model, ids.len() + max_tokens);
        let stop = StopRule {
            max_tokens,
            eog: self.tok.eog_ids().to_vec(),
            ignore_eos: false,
        };
        let mut sampler = Sampler::new(cfg).unwrap();
        let guide = hearth_model::Guide {
            constraint: constraint.as_mut(),
            logprobs: None,
        };
        let answer = pollster::block_on(Conversation::new().run(
            &mut ctx,
            &ids,
            &mut sampler,
            &stop,
            guide,
            |_| Ok(true),
        ))
        .unwrap();
        (self.tok.decode(&answer.ids).unwrap(), answer)
    }
}

fn seeded(seed: u64) -> SamplerConfig {
    SamplerConfig {
        temperature: 0.8,
        seed,
        ..SamplerConfig::default()
    }
}

#[test]
fn every_schema_gives_valid_json_greedy_and_sampled() {
    let rig = Rig::new();
    let cases: Vec<serde_json::Value> = serde_json::from_slice(
        &std::fs::read(root().join("tests/fixtures/structured/schemas.json")).unwrap(),
    )
    .unwrap();
    assert!(cases.len() >= 20);
    let (mut valid, mut total) = (0, 0);
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let prompt = case["prompt"].as_str().unwrap();
        let (format, schema) = match &case["schema"] {
            serde_json::Value::Null => (Format::JsonObject, serde_json::json!({"type": "object"})),
            s => (Format::JsonSchema(s.clone()), s.clone()),
        };
        let validator = jsonschema::validator_for(&schema).unwrap();
        for cfg in [SamplerConfig::default(), seeded(1), seeded(2)] {
            let (text, answer) = rig.ask(prompt, &format, cfg.clone(), 160);
            total += 1;
            let ok = answer.finish == Finish::Stop
                && serde_json::from_str::<serde_json::Value>(&text)
                    .is_ok_and(|v| validator.is_valid(&v));
            if ok {
                valid += 1;
            } else {
                failures.push(format!(
                    "{name} (seed {}, {:?}): {text:?}",
                    cfg.seed, answer.finish
                ));
            }
        }
    }
    println!("valid: {valid} of {total}");
    assert!(
        failures.is_empty(),
        "{valid} of {total} valid; not: {failures:#?}"
    );
}

#[test]
fn greedy_is_reproducible_and_seeds_differ() {
    let rig = Rig::new();
    let format = Format::JsonSchema(serde_json::json!({
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"}},
        "required": ["name", "age"]
    }));
    let a = rig.ask("Invent a person.", &format, SamplerConfig::default(), 60);
    let b = rig.ask("Invent a person.", &format, SamplerConfig::default(), 60);
    assert_eq!(a.1.ids, b.1.ids);
    let s1 = rig.ask("Invent a person.", &format, seeded(7), 60);
    let s1b = rig.ask("Invent a person.", &format, seeded(7), 60);
    assert_eq!(s1.1.ids, s1b.1.ids, "the same seed gives the same answer");
}

#[test]
fn grammars_and_regexes_hold() {
    let rig = Rig::new();
    // a Lark grammar: a yes/no answer and a short reason
    let lark = r#"start: ("yes" | "no") ", because " /[a-z ]{1,40}/ "."
"#;
    let (text, a) = rig.ask(
        "Is Paris in France?",
        &Format::Lark(lark.into()),
        SamplerConfig::default(),
        60,
    );
    let rx = regex_lite_check(&text, |t| {
        let rest = t
            .strip_prefix("yes, because ")
            .or_else(|| t.strip_prefix("no, because "))?;
        let body = rest.strip_suffix('.')?;
        Some(
            !body.is_empty()
                && body.len() <= 40
                && body.chars().all(|c| c.is_ascii_lowercase() || c == ' '),
        )
    });
    assert!(rx && a.finish == Finish::Stop, "{text:?} {:?}", a.finish);
    // the same in GBNF (llama.cpp's format), rewritten to Lark
    let gbnf = r#"root ::= answer ", because " reason "."
answer ::= "yes" | "no"
reason ::= [a-z ]{1,40}
"#;
    let (text2, a2) = rig.ask(
        "Is Paris in France?",
        &Format::Lark(gbnf.into()),
        SamplerConfig::default(),
        60,
    );
    assert_eq!(
        (text2.as_str(), a2.finish),
        (text.as_str(), Finish::Stop),
        "GBNF and Lark differ"
    );
    // a regex: an ISO date
    let (text, a) = rig.ask(
        "When did the Berlin wall fall?",
        &Format::Regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}".into()),
        seeded(3),
        30,
    );
    let b = text.as_bytes();
    assert!(
        b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && text.chars().filter(char::is_ascii_digit).count() == 8,
        "{text:?}"
    );
    assert_eq!(a.finish, Finish::Stop);
}

/// Applies a hand-written check (an oracle independent of llguidance's regex engine).
fn regex_lite_check(text: &str, f: impl Fn(&str) -> Option<bool>) -> bool {
    f(text).unwrap_or(false)
}

#[test]
fn bad_formats_are_errors_and_dead_ends_and_length_are_said() {
    let rig = Rig::new();
    for bad in [
        Format::Lark("start: (".into()),
        Format::Regex("[a-".into()),
        Format::JsonSchema(serde_json::json!({"type": "no-such-type"})),
        Format::JsonSchema(serde_json::json!({"$ref": "https://example.com/schema.json"})),
    ] {
        let e = rig
            .grammars
            .compile(&bad)
            .err()
            .unwrap_or_else(|| panic!("{bad:?} compiled"));
        let msg = e.to_string();
        assert!(msg.starts_with(bad.kind()), "{bad:?}: {msg}");
    }
    // a constraint left with no legal token: the answer ends at once, saying so. (A
    // compiled format always has a way on over a byte-level vocabulary; what leaves none
    // is a broken state, made here by forcing a token the mask does not allow.)
    let mut c = rig
        .grammars
        .compile(&Format::Regex("[0-9]+".into()))
        .unwrap();
    let letter = rig.tok.encode("x", false, false).unwrap()[0];
    assert!(matches!(c.step(), Next::Mask(m) if !m.allows(letter)));
    assert!(c.accept(letter).is_err());
    assert!(matches!(c.step(), Next::Dead(_)));
    let ids = rig.tok.encode("Count:", false, false).unwrap();
    let mut ctx = CpuSession::new(&rig.model, 64);
    let stop = StopRule {
        max_tokens: 8,
        eog: rig.tok.eog_ids().to_vec(),
        ignore_eos: false,
    };
    let a = pollster::block_on(Conversation::new().run(
        &mut ctx,
        &ids,
        &mut Sampler::new(SamplerConfig::default()).unwrap(),
        &stop,
        hearth_model::Guide::constrained(&mut c),
        |_| Ok(true),
    ))
    .unwrap();
    assert_eq!((a.ids.len(), a.finish.as_str()), (0, "no_legal_token"));
    // cut by max_tokens: `length`
    let (_, a) = rig.ask(
        "Count to one hundred.",
        &Format::Regex("[0-9, ]{200}".into()),
        SamplerConfig::default(),
        5,
    );
    assert_eq!((a.ids.len(), a.finish), (5, Finish::Length));
}

#[test]
fn logprobs_are_the_reference_models_log_softmax() {
    use hearth_model::logprobs::Logprobs;
    let rig = Rig::new();
    let bytes = real_model();
    let reference = hearth_model::Model::load(&bytes).unwrap();
    let prompt = rig
        .tok
        .encode("The capital of France is", true, false)
        .unwrap();
    let mut lp = Logprobs::new(5).unwrap();
    let mut ctx = CpuSession::new(&rig.model, prompt.len() + 8);
    let stop = StopRule {
        max_tokens: 6,
        eog: Vec::new(),
        ignore_eos: true,
    };
    let guide = hearth_model::Guide {
        constraint: None,
        logprobs: Some(&mut lp),
    };
    let answer = pollster::block_on(Conversation::new().run(
        &mut ctx,
        &prompt,
        &mut Sampler::new(SamplerConfig::default()).unwrap(),
        &stop,
        guide,
        |_| Ok(true),
    ))
    .unwrap();
    assert_eq!(lp.tokens.len(), answer.ids.len());
    // the f32 reference's logits at each position, log-softmaxed here in f64
    let mut ids = prompt.clone();
    ids.extend(&answer.ids);
    let mut cache = reference.new_cache(ids.len());
    let all = reference
        .forward(&ids[..ids.len() - 1], &mut cache)
        .unwrap();
    let n = reference.config.n_vocab;
    for (k, t) in lp.tokens.iter().enumerate() {
        let row = &all[(prompt.len() - 1 + k) * n..][..n];
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let z = max
            + row
                .iter()
                .map(|&l| (l as f64 - max).exp())
                .sum::<f64>()
                .ln();
        let want = |id: u32| (row[id as usize] as f64 - z) as f32;
        assert_eq!(t.id, answer.ids[k]);
        // the CPU engine's 16-bit activations: logits within 1e-2 of the reference's
        assert!(
            (t.logprob - want(t.id)).abs() < 2e-2,
            "token {k}: {} vs {}",
            t.logprob,
            want(t.id)
        );
        assert_eq!(t.top.len(), 5);
        for w in t.top.windows(2) {
            assert!(w[0].1 >= w[1].1, "top not in order: {:?}", t.top);
        }
        for &(id, l) in &t.top {
            assert!(
                (l - want(id)).abs() < 2e-2,
                "token {k} alternative {id}: {l} vs {}",
                want(id)
            );
        }
        // the picked (greedy) token is the most likely
        assert_eq!(t.top[0].0, t.id);
    }
}

fn weather_tool() -> serde_json::Value {
    serde_json::json!({
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "maxLength": 20},
                    "unit": {"enum": ["celsius", "fahrenheit"]}
                },
                "required": ["city", "unit"],
                "additionalProperties": false
            }
        }
    })
}

/// A call's arguments validate against its function's `parameters` (jsonschema).
fn assert_valid_call(call: &ToolCall, tool: &serde_json::Value) {
    assert_eq!(call.name, tool["function"]["name"]);
    let args: serde_json::Value = serde_json::from_str(&call.arguments).unwrap();
    let schema = &tool["function"]["parameters"];
    assert!(
        jsonschema::validator_for(schema).unwrap().is_valid(&args),
        "{args}"
    );
}

#[test]
fn a_required_tool_call_is_held_to_its_schema_and_parsed() {
    let rig = Rig::new();
    let tool = weather_tool();
    // every format's call syntax, held and parsed back (on SmolLM2's own prompt)
    for format in [
        ToolFormat::Hermes,
        ToolFormat::Llama3Json,
        ToolFormat::Mistral,
        ToolFormat::Fallback,
    ] {
        let grammar = format
            .call_grammar(std::slice::from_ref(&tool), Some("get_weather"), false)
            .unwrap();
        let (text, a) = rig.ask(
            "What is the weather in Paris? Call the get_weather tool.",
            &Format::Lark(grammar),
            SamplerConfig::default(),
            80,
        );
        assert_eq!(a.finish, Finish::Stop, "{format:?}: {text:?}");
        let (content, calls) = format.parse(&text);
        assert_eq!(calls.len(), 1, "{format:?}: {text:?}");
        assert!(content.is_empty(), "{format:?}: {content:?}");
        assert_valid_call(&calls[0], &tool);
    }
}

#[test]
fn tools_through_the_models_template_round_trip() {
    let rig = Rig::new();
    let tool = weather_tool();
    // SmolLM2's template has no tools: the fallback describes them in the system message
    let with = |choice: ToolChoice| {
        Tools::new(
            std::slice::from_ref(&tool),
            &choice,
            true,
            rig.template.source(),
        )
        .unwrap()
        .unwrap()
    };
    let tools = with(ToolChoice::Required);
    assert_eq!(tools.format(), ToolFormat::Fallback);
    let ask = [Message::user("What is the weather in Paris, in celsius?")];
    let format = tools.constraint().unwrap();
    for seed in [0, 1, 2] {
        let cfg = SamplerConfig {
            seed,
            temperature: if seed == 0 { 0.0 } else { 0.8 },
            ..SamplerConfig::default()
        };
        let (text, a) = rig.chat(&tools.messages(&ask), format.as_ref(), cfg, 80);
        assert_eq!(a.finish, Finish::Stop, "{text:?}");
        let (content, calls) = tools.parse(&text);
        assert!(content.is_empty() && calls.len() == 1, "{text:?}");
        assert_valid_call(&calls[0], &tool);
    }
    // the call and its result go back in: the next answer is free text about it
    let (text, _) = rig.chat(
        &tools.messages(&ask),
        format.as_ref(),
        SamplerConfig::default(),
        80,
    );
    let call = tools.parse(&text).1.remove(0);
    let history = [
        ask[0].clone(),
        Message {
            role: "assistant".into(),
            tool_calls: Some(vec![call.to_openai()]),
            ..Message::default()
        },
        Message {
            role: "tool".into(),
            content: "{\"temperature\": 21, \"unit\": \"celsius\"}".into(),
            tool_call_id: Some(call.id.clone()),
            name: Some(call.name.clone()),
            ..Message::default()
        },
    ];
    // the fallback writes the call as the assistant's JSON and the result as a user turn
    let prompt = rig
        .template
        .render(&tools.messages(&history), true, "", "")
        .unwrap();
    let written = format!(
        "{{\"name\": \"get_weather\", \"arguments\": {}}}",
        call.arguments
    );
    assert!(prompt.contains(&written), "{prompt}");
    assert!(
        prompt.contains("The function get_weather returned: {\"temperature\": 21"),
        "{prompt}"
    );
    // tool_choice none: the answer is text, whatever it looks like
    let none = with(ToolChoice::None);
    assert!(none.constraint().unwrap().is_none());
    let (text, _) = rig.chat(&none.messages(&history), None, SamplerConfig::default(), 40);
    assert_eq!(none.parse(&text), (text.clone(), Vec::new()));
}
