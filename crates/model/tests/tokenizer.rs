//! The tokenizer against llama.cpp: every vector of `tests/fixtures/tokenizers`, the
//! real model's vocabulary (`tests/fixtures/smollm2-tokens.json`, made by
//! `scripts/gen-tokenizer-fixtures.py` with llama.cpp), decoding, special tokens, BOS
//! and streaming.

use std::path::PathBuf;

use hearth_gguf::Gguf;
use hearth_gguf::Value as Value_;
use hearth_model::tokenizer::{StreamDecoder, Tokenizer, VocabKind};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures_dir() -> PathBuf {
    root().join("tests/fixtures/tokenizers")
}

/// The tokenizer of `tests/fixtures/tokenizers/ggml-vocab-NAME.gguf`.
fn fixture_tokenizer(name: &str) -> Tokenizer {
    let path = fixtures_dir().join(format!("ggml-vocab-{name}.gguf"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let gguf = Gguf::read(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Tokenizer::from_gguf(&gguf.metadata).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The test strings of a fixture and the ids llama.cpp expects for each (no BOS,
/// special tokens not parsed).
fn fixture_cases(name: &str) -> Vec<(String, Vec<u32>)> {
    let base = fixtures_dir().join(format!("ggml-vocab-{name}.gguf"));
    let inp = std::fs::read_to_string(base.with_extension("gguf.inp")).expect("read .inp");
    let out = std::fs::read_to_string(base.with_extension("gguf.out")).expect("read .out");
    let mut strings: Vec<&str> = inp.split("\n__ggml_vocab_test__\n").collect();
    assert_eq!(
        strings.pop(),
        Some(""),
        "{name}.inp must end with a separator"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        strings.len(),
        lines.len(),
        "{name}: .inp and .out disagree in length"
    );
    strings
        .into_iter()
        .zip(lines)
        .map(|(s, l)| {
            let ids = l
                .split_whitespace()
                .map(|t| t.parse().expect("id"))
                .collect();
            (s.to_string(), ids)
        })
        .collect()
}

/// Encodes every fixture line and reports every mismatch at once.
fn check_fixture(name: &str) {
    let tok = fixture_tokenizer(name);
    let cases = fixture_cases(name);
    assert!(cases.len() >= 40, "{name}: only {} cases", cases.len());
    let mut failures = Vec::new();
    for (text, want) in &cases {
        match tok.encode(text, false, false) {
            Ok(got) if &got == want => {}
            Ok(got) => failures.push(format!("  {text:?}\n    want {want:?}\n    got  {got:?}")),
            Err(e) => failures.push(format!("  {text:?}\n    want {want:?}\n    error {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: {} of {} lines differ from llama.cpp:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn fixture_llama_spm() {
    check_fixture("llama-spm");
}

#[test]
fn fixture_phi_3() {
    check_fixture("phi-3");
}

#[test]
fn fixture_llama_bpe() {
    check_fixture("llama-bpe");
}

#[test]
fn fixture_gpt_2() {
    check_fixture("gpt-2");
}

#[test]
fn fixture_qwen2() {
    check_fixture("qwen2");
}

/// decode(encode(s)) gives s back wherever llama.cpp's `llama_detokenize` does. The
/// only exceptions are in the vocabs with llama.cpp's space clean-up (GPT-2, Llama 3),
/// which turns " ?" into "?" (checked against llama-cpp-python 0.3.36).
#[test]
fn fixture_round_trips() {
    for name in ["llama-spm", "phi-3", "llama-bpe", "gpt-2", "qwen2"] {
        let tok = fixture_tokenizer(name);
        let cleans = matches!(name, "llama-bpe" | "gpt-2");
        for (text, ids) in fixture_cases(name) {
            let want = if cleans {
                text.replace("😁 ?", "😁?")
            } else {
                text.clone()
            };
            let got = tok.decode(&ids).unwrap();
            assert_eq!(got, want, "{name}: decode of the ids of {text:?}");
            // Streaming gives the raw pieces; SentencePiece's have the prefix space.
            let raw = tok.decode_raw(&ids).unwrap();
            let streamed = stream_all(&tok, &ids);
            assert_eq!(streamed, raw, "{name}: streamed {text:?}");
        }
    }
}

fn stream_all(tok: &Tokenizer, ids: &[u32]) -> String {
    let mut dec = StreamDecoder::new(tok);
    let mut out = String::new();
    for &id in ids {
        out.push_str(&dec.push(id).unwrap());
    }
    out.push_str(&dec.finish());
    out
}

#[test]
fn bos_follows_the_gguf() {
    // llama-spm: add_bos_token = true.
    let spm = fixture_tokenizer("llama-spm");
    assert!(spm.add_bos());
    assert_eq!(spm.bos_id(), Some(1));
    assert_eq!(spm.encode("Hello", true, false).unwrap(), vec![1, 15043]);
    assert_eq!(spm.encode("Hello", false, false).unwrap(), vec![15043]);
    assert_eq!(spm.encode("", true, false).unwrap(), vec![1]);
    assert_eq!(spm.encode("", false, false).unwrap(), Vec::<u32>::new());
    // With BOS first the prefix space stays, as in llama.cpp.
    assert_eq!(spm.decode(&[1, 15043]).unwrap(), "<s> Hello");

    // llama-bpe: no add_bos_token key, and Llama 3's default is true.
    let l3 = fixture_tokenizer("llama-bpe");
    assert!(l3.add_bos());
    assert_eq!(
        l3.encode("Hello world", true, false).unwrap(),
        vec![128000, 9906, 1917]
    );

    // gpt-2 and qwen2: no key, BPE default false.
    for name in ["gpt-2", "qwen2"] {
        let tok = fixture_tokenizer(name);
        assert!(!tok.add_bos(), "{name}");
        assert_eq!(
            tok.encode("Hello world", true, false).unwrap(),
            tok.encode("Hello world", false, false).unwrap()
        );
    }
}

/// llama.cpp's end-of-generation sets (llama_vocab_is_eog over every id, from
/// llama-cpp-python 0.3.36). Qwen2's vocab has an ordinary "</s>" that llama.cpp
/// counts too.
#[test]
fn eog_ids_like_llama_cpp() {
    let want: [(&str, &[u32]); 5] = [
        ("llama-spm", &[2]),
        ("phi-3", &[2, 32000, 32007]),
        ("llama-bpe", &[128001, 128009]),
        ("gpt-2", &[50256]),
        ("qwen2", &[128247, 151643, 151645]),
    ];
    for (name, eog) in want {
        assert_eq!(fixture_tokenizer(name).eog_ids(), eog, "{name}");
    }
    let phi = fixture_tokenizer("phi-3");
    assert_eq!(phi.eos_id(), Some(32000));
    assert!(phi.is_eog(32007) && !phi.is_eog(32010));
    assert_eq!(phi.token_text(32007), Some("<|end|>"));
    assert_eq!(phi.token_id("<|end|>"), Some(32007));
    assert_eq!(phi.kind(), VocabKind::Spm);
}

/// Special-token parsing on and off, against llama.cpp's `llama_tokenize` (from
/// llama-cpp-python 0.3.36; no BOS). Phi-3's special tokens eat the whitespace after
/// them; SentencePiece prefixes a space to text that follows a special token; an
/// end marker that the GGUF calls user-defined or normal ("</s>" in Phi-3 and Qwen2)
/// is made a control token, so it is only split out with special parsing.
#[test]
fn special_token_parsing_like_llama_cpp() {
    type Case = (&'static str, &'static str, &'static [u32], &'static [u32]);
    let cases: &[Case] = &[
        (
            "phi-3",
            "<|user|>\nHi<|end|>\n",
            &[32010, 6324, 32007],
            &[
                529, 29989, 1792, 29989, 29958, 13, 18567, 29966, 29989, 355, 29989, 29958, 13,
            ],
        ),
        (
            "phi-3",
            "<s>Hello",
            &[1, 15043],
            &[529, 29879, 29958, 10994],
        ),
        (
            "phi-3",
            "a</s> b",
            &[263, 2, 289],
            &[263, 829, 29879, 29958, 289],
        ),
        (
            "llama-spm",
            "<s>Hello",
            &[1, 15043],
            &[529, 29879, 29958, 10994],
        ),
        (
            "llama-spm",
            "a</s> b",
            &[263, 2, 29871, 289],
            &[263, 829, 29879, 29958, 289],
        ),
        (
            "qwen2",
            "<|im_start|>user\nHi<|im_end|>",
            &[151644, 872, 198, 13048, 151645],
            &[
                27, 91, 318, 4906, 91, 29, 872, 198, 13048, 27, 91, 318, 6213, 91, 29,
            ],
        ),
        (
            "qwen2",
            "a</s> b",
            &[64, 128247, 293],
            &[64, 522, 82, 29, 293],
        ),
        (
            "gpt-2",
            "a</s> b",
            &[64, 3556, 82, 29, 275],
            &[64, 3556, 82, 29, 275],
        ),
        ("llama-bpe", "<s>Hello", &[45147, 80597], &[45147, 80597]),
    ];
    for &(name, text, special, plain) in cases {
        let tok = fixture_tokenizer(name);
        let got = tok.encode(text, false, true).unwrap();
        assert_eq!(got, special, "{name} {text:?} with special parsing");
        let got = tok.encode(text, false, false).unwrap();
        assert_eq!(got, plain, "{name} {text:?} without special parsing");
    }
    // Special or not, the text comes back.
    let qwen = fixture_tokenizer("qwen2");
    let text = "<|im_start|>user\nHi<|im_end|>";
    for special in [true, false] {
        let ids = qwen.encode(text, false, special).unwrap();
        assert_eq!(qwen.decode(&ids).unwrap(), text);
    }
}

#[test]
fn out_of_range_ids_are_errors() {
    for name in ["llama-spm", "gpt-2"] {
        let tok = fixture_tokenizer(name);
        let n = tok.vocab_size() as u32;
        assert!(tok.decode(&[n]).is_err());
        assert!(tok.decode(&[0, u32::MAX]).is_err());
        assert!(tok.decode_raw(&[n]).is_err());
        assert!(tok.token_piece(n).is_err());
        assert_eq!(tok.token_text(n), None);
        let mut dec = tok.stream();
        assert!(dec.push(n).is_err());
        assert!(tok.decode(&[n - 1]).is_ok());
    }
}

#[test]
fn spm_byte_fallback_streams_whole_characters() {
    let spm = fixture_tokenizer("llama-spm");
    // 🦙 is not a token: four byte tokens.
    let ids = spm.encode("🦙", false, false).unwrap();
    assert_eq!(ids, vec![29871, 243, 162, 169, 156]);
    let mut dec = spm.stream();
    let emitted: Vec<String> = ids.iter().map(|&id| dec.push(id).unwrap()).collect();
    assert_eq!(emitted, vec![" ", "", "", "", "🦙"]);
    assert!(!dec.has_pending());
    assert_eq!(dec.finish(), "");
    assert_eq!(spm.decode(&ids).unwrap(), "🦙");
}

#[test]
fn byte_level_tokens_split_inside_a_character_stream_whole() {
    let gpt2 = fixture_tokenizer("gpt-2");
    // GPT-2 has no token for "🦙": its four bytes come as several tokens.
    let ids = gpt2.encode(" this is 🦙.cpp", false, false).unwrap();
    let mut dec = gpt2.stream();
    let mut out = String::new();
    let mut held = false;
    for &id in &ids {
        let piece = gpt2.token_piece(id).unwrap();
        let text = dec.push(id).unwrap();
        if std::str::from_utf8(&piece).is_err() {
            held = true;
        }
        out.push_str(&text);
    }
    assert!(held, "expected a token that ends inside 🦙: {ids:?}");
    out.push_str(&dec.finish());
    assert_eq!(out, " this is 🦙.cpp");
    assert_eq!(out, gpt2.decode(&ids).unwrap());
}

#[test]
fn unfinished_and_invalid_utf8_become_replacement_characters() {
    let spm = fixture_tokenizer("llama-spm");
    // <0xF0> <0x9F> then nothing: held back, then flushed as U+FFFD.
    let mut dec = spm.stream();
    assert_eq!(dec.push(243).unwrap(), "");
    assert_eq!(dec.push(162).unwrap(), "");
    assert_eq!(dec.finish(), "\u{FFFD}");
    // <0xF0> then "a": invalid at once.
    let a = spm.token_id("a").unwrap();
    let mut dec = spm.stream();
    assert_eq!(dec.push(243).unwrap(), "");
    assert_eq!(dec.push(a).unwrap(), "\u{FFFD}a");
    assert_eq!(spm.decode_raw(&[243, a]).unwrap(), "\u{FFFD}a");
}

// ---------------------------------------------------------------------------------
// The real model: SmolLM2-135M-Instruct against llama.cpp's own tokenizer.

fn smollm2() -> Tokenizer {
    real_tokenizer("SmolLM2-135M-Instruct.Q4_1.gguf", "")
}

/// Gemma 3 270M's SentencePiece vocabulary (262,144 tokens, no space prefix).
fn gemma3() -> Tokenizer {
    real_tokenizer("gemma-3-270m-q4_k_m.gguf", " gemma3")
}

fn real_tokenizer(file: &str, fetch_arg: &str) -> Tokenizer {
    let path = root().join("models").join(file);
    assert!(
        path.exists(),
        "{} is missing: run scripts/fetch-model{fetch_arg} (the real model's vocabulary is tested, never skipped)",
        path.display()
    );
    let bytes = std::fs::read(&path).expect("read the real model");
    let gguf = Gguf::read(&bytes).expect("parse the real model");
    Tokenizer::from_gguf(&gguf.metadata).expect("tokenizer of the real model")
}

/// `tests/fixtures/NAME-tokens.json`, written by scripts/gen-tokenizer-fixtures.py.
fn reference(name: &str) -> Value {
    let path = root().join(format!("tests/fixtures/{name}-tokens.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("tokens fixture")
}

fn ids_of(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("id list")
        .iter()
        .map(|x| x.as_u64().expect("id") as u32)
        .collect()
}

#[test]
fn smollm2_matches_llama_cpp() {
    matches_llama_cpp(&smollm2(), "smollm2");
}

#[test]
fn gemma3_matches_llama_cpp() {
    let tok = gemma3();
    assert_eq!(tok.vocab_size(), 262_144);
    assert_eq!(tok.kind(), VocabKind::Spm);
    matches_llama_cpp(&tok, "gemma3");
}

/// Every fixture string encodes to llama.cpp's ids (special tokens parsed and not), and
/// decodes and streams to llama.cpp's text; BOS, EOS and the end-of-generation set agree.
fn matches_llama_cpp(tok: &Tokenizer, name: &str) {
    let r = reference(name);
    assert_eq!(tok.vocab_size() as u64, r["vocab_size"].as_u64().unwrap());
    assert_eq!(tok.bos_id().map(u64::from), r["bos_id"].as_u64());
    assert_eq!(tok.eos_id().map(u64::from), r["eos_id"].as_u64());
    assert_eq!(tok.add_bos(), r["add_bos"].as_bool().unwrap());
    assert_eq!(tok.eog_ids(), ids_of(&r["eog_ids"]).as_slice());

    let cases = r["cases"].as_array().unwrap();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let text = case["text"].as_str().unwrap();
        for (key, special) in [("ids", false), ("ids_special", true)] {
            let want = ids_of(&case[key]);
            let got = tok.encode(text, false, special).unwrap();
            if got != want {
                failures.push(format!(
                    "  {text:?} (parse_special={special})\n    want {want:?}\n    got  {got:?}"
                ));
                continue;
            }
            let decoded = tok.decode(&got).unwrap();
            let want_text = case[if special { "detok_special" } else { "detok" }]
                .as_str()
                .unwrap();
            if decoded != want_text {
                failures.push(format!("  {text:?} (parse_special={special})\n    decode want {want_text:?}\n    decode got  {decoded:?}"));
            }
            // No prefix space or clean-up in these vocabs: streaming equals decode.
            let streamed = stream_all(tok, &got);
            if streamed != decoded {
                failures.push(format!(
                    "  {text:?}: streamed {streamed:?} != decoded {decoded:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{name} differs from llama.cpp ({} failures):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn smollm2_chat_markup() {
    let tok = smollm2();
    let ids = tok
        .encode("<|im_start|>user\nHi<|im_end|>\n", true, true)
        .unwrap();
    // add_bos_token is false in this GGUF: no BOS even when asked.
    assert_eq!(ids.first(), Some(&1));
    assert!(ids.contains(&2));
    assert!(tok.is_eog(2));
    assert_eq!(tok.token_text(1), Some("<|im_start|>"));
    assert_eq!(
        tok.decode(&ids).unwrap(),
        "<|im_start|>user\nHi<|im_end|>\n"
    );
}

/// Every token decodes to text that encodes back to text decoding the same way (the
/// llama.cpp test-tokenizer-1-bpe check), over the whole SmolLM2 vocabulary.
#[test]
fn smollm2_every_token_round_trips() {
    let tok = smollm2();
    let mut failures = Vec::new();
    for id in 0..tok.vocab_size() as u32 {
        let text = tok.decode(&[id]).unwrap();
        let again = tok
            .decode(&tok.encode(&text, false, true).unwrap())
            .unwrap();
        if again != text {
            failures.push(format!("{id}: {text:?} -> {again:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} tokens do not round-trip:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn tokenizer_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Tokenizer>();
    check::<StreamDecoder<'static>>();
}

/// Broken or unsupported metadata is an error, never a panic or a silent fallback.
#[test]
fn bad_metadata_is_an_error() {
    let path = fixtures_dir().join("ggml-vocab-gpt-2.gguf");
    let good = Gguf::read(&std::fs::read(path).unwrap()).unwrap().metadata;
    let with = |key: &str, value: Option<Value_>| {
        let mut meta = good.clone();
        match value {
            Some(v) => meta.0.insert(key.to_string(), v),
            None => meta.0.remove(key),
        };
        Tokenizer::from_gguf(&meta)
    };
    let s = |t: &str| Some(Value_::String(t.to_string()));
    assert!(with("tokenizer.ggml.pre", s("no-such-pre")).is_err());
    assert!(with("tokenizer.ggml.model", s("bert")).is_err());
    assert!(with("tokenizer.ggml.model", None).is_err());
    assert!(with("tokenizer.ggml.tokens", None).is_err());
    assert!(with("tokenizer.ggml.tokens", Some(Value_::Array(vec![]))).is_err());
    assert!(with("tokenizer.ggml.merges", None).is_err());
    assert!(
        with(
            "tokenizer.ggml.token_type",
            Some(Value_::Array(vec![Value_::I32(1)]))
        )
        .is_err()
    );
    assert!(with("tokenizer.ggml.tokens", Some(Value_::U32(3))).is_err());
    // A missing pre-tokenizer is llama.cpp's "default" one; an out-of-range id leaves
    // llama.cpp's default (11 for BPE vocabs).
    assert!(with("tokenizer.ggml.pre", None).is_ok());
    let tok = with("tokenizer.ggml.bos_token_id", Some(Value_::U32(u32::MAX))).unwrap();
    assert_eq!(tok.bos_id(), Some(11));
}
