//! The `hearth` command run as a user runs it, on the real model (SmolLM2-135M-Instruct)
//! and on broken inputs. Expected answers are the model's known outputs and the NumPy
//! reference logits of `scripts/gen-reference-logits.py`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn model() -> PathBuf {
    let path = root().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        path.exists(),
        "{} is missing: run scripts/fetch-model",
        path.display()
    );
    path
}

fn hearth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        .output()
        .expect("run hearth")
}

fn ok(args: &[&str]) -> String {
    let out = hearth(args);
    assert!(
        out.status.success(),
        "hearth {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Runs hearth expecting failure; returns stderr, checked to be one clear line.
fn fails(args: &[&str]) -> String {
    let out = hearth(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "hearth {args:?} should fail");
    assert!(!err.contains("panicked"), "hearth {args:?} panicked: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line on stderr: {err}"
    );
    assert!(err.starts_with("error: "), "{err}");
    err
}

fn m() -> String {
    model().display().to_string()
}

/// "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
/// tokens looked up one by one in the GGUF's vocabulary with the `gguf` Python package.
const FRANCE_IDS: [u32; 16] = [
    1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198,
];
const FRANCE_PROMPT: &str =
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n";

#[test]
fn tokenize_prints_json_ids() {
    let out = ok(&["tokenize", "--model", &m(), "--special", FRANCE_PROMPT]);
    let ids: Vec<u32> = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(ids, FRANCE_IDS);
    // without --special the markup is plain text, not control tokens
    let out = ok(&["tokenize", "--model", &m(), FRANCE_PROMPT]);
    let ids: Vec<u32> = serde_json::from_str(out.trim()).unwrap();
    assert!(!ids.contains(&1) && !ids.contains(&2), "{ids:?}");
}

#[test]
fn generate_raw_chatml_prompt_answers_paris() {
    let out = ok(&[
        "generate",
        "--model",
        &m(),
        "--max-tokens",
        "32",
        "--json",
        FRANCE_PROMPT,
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let prompt_ids: Vec<u32> = serde_json::from_value(v["prompt_ids"].clone()).unwrap();
    assert_eq!(prompt_ids, FRANCE_IDS);
    assert_eq!(v["text"], "The capital of France is Paris.");
    // stopped at <|im_end|> (id 2), which is not part of the answer
    let ids: Vec<u32> = serde_json::from_value(v["ids"].clone()).unwrap();
    assert!(ids.len() < 32 && !ids.contains(&2), "{ids:?}");
}

#[test]
fn generate_chat_streams_the_answer() {
    let out = ok(&[
        "generate",
        "--model",
        &m(),
        "--chat",
        "--max-tokens",
        "32",
        "What is the capital of France?",
    ]);
    assert_eq!(out.trim_end(), "The capital of France is Paris.");
}

#[test]
fn generate_stop_strings_end_the_answer_before_them() {
    // the model's answer is "The capital of France is Paris." (above)
    let model = m();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "generate",
            "--model",
            &model,
            "--max-tokens",
            "32",
            "--json",
        ];
        args.extend_from_slice(extra);
        args.push(FRANCE_PROMPT);
        let v: serde_json::Value = serde_json::from_str(ok(&args).trim()).unwrap();
        (
            v["text"].as_str().unwrap().to_string(),
            v["finish_reason"].clone(),
        )
    };
    let (text, finish) = run(&["--stop", "Paris", "--stop", "London"]);
    assert_eq!(
        (text.as_str(), finish),
        ("The capital of France is ", "stop".into())
    );
    // streamed, the held-back text is printed when it turns out not to be a stop string
    let streamed = |stop: &str| {
        let args = [
            "generate",
            "--model",
            &model,
            "--chat",
            "--stop",
            stop,
            "What is the capital of France?",
        ];
        ok(&args).trim_end().to_string()
    };
    assert_eq!(streamed("is Rome"), "The capital of France is Paris.");
    assert_eq!(streamed("."), "The capital of France is Paris");
}

#[test]
fn generate_held_to_a_json_schema_prints_valid_json() {
    let dir = std::env::temp_dir().join(format!("hearth-cli-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let schema = dir.join("capital.json");
    std::fs::write(
        &schema,
        r#"{"type":"object","properties":{"country":{"enum":["France","Spain"]},"capital":{"type":"string","maxLength":20}},"required":["country","capital"],"additionalProperties":false}"#,
    )
    .unwrap();
    let out = ok(&[
        "generate",
        "--model",
        &m(),
        "--chat",
        "--json",
        "--max-tokens",
        "48",
        "--json-schema",
        schema.to_str().unwrap(),
        "What is the capital of France?",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let answer: serde_json::Value = serde_json::from_str(v["text"].as_str().unwrap()).unwrap();
    assert_eq!(answer["country"], "France", "{answer}");
    assert!(
        answer["capital"].as_str().is_some_and(|c| c.len() <= 20),
        "{answer}"
    );
    assert_eq!(v["finish_reason"], "stop");
    // a schema llguidance rejects: a clear error, no answer
    std::fs::write(&schema, r#"{"type":"no-such-type"}"#).unwrap();
    let out = hearth(&[
        "generate",
        "--model",
        &m(),
        "--chat",
        "--json-schema",
        schema.to_str().unwrap(),
        "Hi",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("JSON schema"), "{err}");
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--tools` with a required call: the answer is a call of the one function, its
/// arguments valid for the schema (checked by hand here, by the jsonschema crate in
/// hearth-cpu's tests), printed as OpenAI's tool_calls.
#[test]
fn generate_with_tools_makes_a_call() {
    let dir = std::env::temp_dir().join(format!("hearth-cli-tools-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tools = dir.join("tools.json");
    std::fs::write(
        &tools,
        r#"[{"type":"function","function":{"name":"get_weather","description":"The weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":20},"unit":{"enum":["celsius","fahrenheit"]}},"required":["city","unit"],"additionalProperties":false}}}]"#,
    )
    .unwrap();
    let tools = tools.to_str().unwrap();
    let ask = |choice: &str, json: bool| {
        let mut args = vec![
            "generate",
            "--model",
            &m(),
            "--chat",
            "--max-tokens",
            "64",
            "--tools",
            tools,
            "--tool-choice",
            choice,
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        if json {
            args.push("--json".into());
        }
        args.push("What is the weather in Paris?".into());
        ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let out = ask("required", true);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["finish_reason"], "tool_calls", "{v}");
    assert_eq!(v["text"], "", "{v}");
    let call = &v["tool_calls"][0];
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["id"].as_str().map(str::len), Some(9));
    let args: serde_json::Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    let fields: Vec<&String> = args.as_object().unwrap().keys().collect();
    assert_eq!(fields, ["city", "unit"], "{args}");
    assert!(
        args["city"]
            .as_str()
            .is_some_and(|c| c.chars().count() <= 20)
    );
    assert!(["celsius", "fahrenheit"].contains(&args["unit"].as_str().unwrap()));
    // streamed, the call is the last line, the same one; named, the same call
    let streamed = ask("required", false);
    let last: serde_json::Value =
        serde_json::from_str(streamed.trim().lines().last().unwrap()).unwrap();
    assert_eq!(&last, call);
    let named: serde_json::Value = serde_json::from_str(ask("get_weather", true).trim()).unwrap();
    assert_eq!(named["tool_calls"][0]["function"], call["function"]);
    // none: text, no calls
    let none: serde_json::Value = serde_json::from_str(ask("none", true).trim()).unwrap();
    assert_eq!(none["tool_calls"], serde_json::json!([]));
    assert_ne!(none["finish_reason"], "tool_calls");
    // a choice that names no tool: a clear error before any token
    let err = fails(&[
        "generate",
        "--model",
        &m(),
        "--chat",
        "--tools",
        tools,
        "--tool-choice",
        "get_time",
        "Hi",
    ]);
    assert!(err.contains("get_time"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn generate_ids_ignore_eos_runs_to_max_tokens() {
    let ids = FRANCE_IDS.map(|i| i.to_string()).join(",");
    let out = ok(&[
        "generate",
        "--model",
        &m(),
        "--ids",
        &ids,
        "--max-tokens",
        "12",
        "--ignore-eos",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let got: Vec<u32> = serde_json::from_value(v["ids"].clone()).unwrap();
    assert_eq!(got.len(), 12, "{got:?}");
    assert!(
        got.contains(&2),
        "greedy goes through <|im_end|> when told to ignore it: {got:?}"
    );
    assert!(
        v["text"]
            .as_str()
            .unwrap()
            .starts_with("The capital of France is Paris.")
    );
}

#[test]
fn seeded_sampling_is_reproducible() {
    let run = |seed: &str| {
        ok(&[
            "generate",
            "--model",
            &m(),
            "--chat",
            "--temperature",
            "1.0",
            "--seed",
            seed,
            "--max-tokens",
            "16",
            "--json",
            "Tell me a story.",
        ])
    };
    assert_eq!(run("7"), run("7"));
    assert_ne!(run("7"), run("8"));
}

/// `hearth logits` on each engine against the NumPy reference logits: the GPU (f32 KV
/// cache, f32 math) tightly, the CPU engine within its 16-bit activation rounding.
#[test]
fn logits_writes_npy_matching_the_reference() {
    let dir = std::env::temp_dir().join(format!("hearth-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("logits.npy");
    let ids = "1,4093,198,1780,314,260,3575,282,4649,47";
    let want = std::fs::read(root().join("tests/fixtures/reference/smollm2.logits.f32")).unwrap();
    let want: Vec<f32> = want
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    for (backend, tolerance) in [("gpu", 1e-3), ("cpu", 5e-2), ("reference", 1e-3)] {
        ok(&[
            "logits",
            "--model",
            &m(),
            "--ids",
            ids,
            "--backend",
            backend,
            "--out",
            out.to_str().unwrap(),
        ]);
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
        assert!(
            header.contains("'descr': '<f4'") && header.contains("'shape': (10, 49152)"),
            "{header}"
        );
        assert_eq!((10 + hlen) % 64, 0);
        let data: Vec<f32> = bytes[10 + hlen..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(data.len(), 10 * 49152);
        for (row, pos) in [0usize, 5, 9].into_iter().enumerate() {
            let got = &data[pos * 49152..][..49152];
            let want = &want[row * 49152..][..49152];
            let err = got
                .iter()
                .zip(want)
                .map(|(g, w)| (g - w).abs())
                .fold(0f32, f32::max);
            assert!(
                err < tolerance,
                "{backend} position {pos}: max |diff| {err}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `--backend auto` runs the CPU engine on a software adapter (CI's lavapipe) or none,
/// and says why; each backend can be asked for by name and answers the same.
#[test]
fn backend_choice_is_reported_and_every_backend_answers() {
    let run = |backend: &str| {
        let out = hearth(&[
            "generate",
            "--model",
            &m(),
            "--backend",
            backend,
            "--chat",
            "--verbose",
            "--max-tokens",
            "16",
            "What is the capital of France?",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (text, err) = run("auto");
    assert_eq!(text.trim_end(), "The capital of France is Paris.");
    assert!(err.contains("CPU engine"), "{err}");
    assert!(
        err.contains("is a software adapter") || err.contains("no GPU adapter"),
        "{err}"
    );
    for (backend, says) in [
        ("cpu", "CPU engine"),
        ("gpu", "GPU: "),
        ("reference", "CPU reference"),
    ] {
        let (text, err) = run(backend);
        assert_eq!(
            text.trim_end(),
            "The capital of France is Paris.",
            "{backend}"
        );
        assert!(
            err.contains(says) && err.contains("chosen with --backend"),
            "{err}"
        );
    }
}

#[test]
fn info_describes_the_model() {
    let out = ok(&["info", "--model", &m()]);
    for want in [
        "architecture:  llama (Llama family)",
        "30 layers, embedding 576, 9 heads (3 KV) of 64, FFN 1536, vocab 49152",
        "context:       8192",
        "tied (no output.weight)",
        "Q4_1 ×210",
        "Q8_0 ×1",
        "F32 ×61",
        "<|im_start|>",
        "runs:          yes",
    ] {
        assert!(out.contains(want), "info lacks {want:?}:\n{out}");
    }
}

/// Gemma 3 270M (fetched by `scripts/fetch-model gemma3`): the figures of its GGUF as the
/// `gguf` package reads them, its sliding window, and the Gemma template it falls back to.
#[test]
fn info_describes_gemma3() {
    let path = root().join("models/gemma-3-270m-q4_k_m.gguf");
    assert!(
        path.exists(),
        "{} is missing: run scripts/fetch-model gemma3",
        path.display()
    );
    let out = ok(&["info", "--model", path.to_str().unwrap()]);
    for want in [
        "architecture:  gemma3 (Gemma 3 family)",
        "18 layers, embedding 640, 4 heads (1 KV) of 256, FFN 2048, vocab 262144",
        "rope:          base 1000000",
        "sliding window of 512 on the local layers (RoPE base 10000 there)",
        "tied (no output.weight)",
        "F32 ×109, Q8_0 ×10, Q5_0 ×81, Q4_K ×27, Q6_K ×9",
        "its vocabulary is Gemma's, so Gemma's template is used",
        "runs:          yes",
    ] {
        assert!(out.contains(want), "info lacks {want:?}:\n{out}");
    }
}

#[test]
fn errors_are_one_clear_line() {
    let err = fails(&["info", "--model", "/nonexistent/model.gguf"]);
    assert!(err.contains("cannot open"), "{err}");
    let readme = root().join("README.md");
    let err = fails(&["generate", "--model", readme.to_str().unwrap(), "hi"]);
    assert!(err.contains("not a GGUF"), "{err}");
    let err = fails(&[
        "logits",
        "--model",
        &m(),
        "--ids",
        "1,999999",
        "--out",
        "/dev/null",
    ]);
    assert!(err.contains("outside the vocabulary"), "{err}");
}

#[test]
fn unsupported_architecture_and_tensor_type_are_refused() {
    use hearth_gguf::{GgmlType, GgufWriter, Value};
    let dir = std::env::temp_dir().join(format!("hearth-cli-arch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: Vec<u8>| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };

    let mut w = GgufWriter::new();
    w.add_metadata("general.architecture", Value::String("gpt2".into()))
        .unwrap();
    let gpt2 = write("gpt2.gguf", w.finish());
    let err = fails(&["generate", "--model", gpt2.to_str().unwrap(), "hi"]);
    assert!(err.contains("architecture \"gpt2\""), "{err}");
    // info still describes it, and says what hearth lacks to run it
    let info = ok(&["info", "--model", gpt2.to_str().unwrap()]);
    for want in [
        "architecture:  gpt2",
        "runs:          no; hearth lacks:",
        "  - unsupported model: architecture \"gpt2\"",
        "  - tokenizer: no tokenizer.ggml.model",
    ] {
        assert!(info.contains(want), "info lacks {want:?}:\n{info}");
    }

    // a tensor type id hearth does not know (IQ2_XXS = 16)
    let mut bytes = {
        let mut w = GgufWriter::new();
        w.add_metadata("general.architecture", Value::String("llama".into()))
            .unwrap();
        w.add_tensor("t", &[32], GgmlType::F32, [0u8; 128]).unwrap();
        w.finish()
    };
    let at = find_tensor_type_offset(&bytes);
    bytes[at..at + 4].copy_from_slice(&16u32.to_le_bytes());
    let iq = write("iq.gguf", bytes);
    let err = fails(&["info", "--model", iq.to_str().unwrap()]);
    assert!(err.contains("tensor type 16"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Offset of the type field of the only tensor (named "t", 1 dim) in a writer-made file.
fn find_tensor_type_offset(bytes: &[u8]) -> usize {
    // name: u64 len 1 + "t", n_dims: u32 1, dim: u64 32, then the type u32
    let pat: Vec<u8> = [
        &1u64.to_le_bytes()[..],
        b"t",
        &1u32.to_le_bytes(),
        &32u64.to_le_bytes(),
    ]
    .concat();
    let at = bytes
        .windows(pat.len())
        .position(|w| w == pat.as_slice())
        .expect("tensor info");
    at + pat.len()
}

#[test]
fn a_model_without_template_chats_in_chatml() {
    use hearth_gguf::{Gguf, GgufWriter};
    // SmolLM2 rewritten without tokenizer.chat_template: ChatML without a system message
    // is exactly the prompt whose known answer is "The capital of France is Paris."
    let bytes = std::fs::read(model()).unwrap();
    let gguf = Gguf::read(&bytes).unwrap();
    let mut w = GgufWriter::new();
    for (k, v) in &gguf.metadata.0 {
        if k != "tokenizer.chat_template" && k != "general.alignment" {
            w.add_metadata(k.clone(), v.clone()).unwrap();
        }
    }
    for t in &gguf.tensors {
        w.add_tensor(
            t.name.clone(),
            &t.dims,
            t.ty,
            gguf.tensor_data(&bytes, &t.name).unwrap(),
        )
        .unwrap();
    }
    let dir = std::env::temp_dir().join(format!("hearth-cli-chatml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("no-template.gguf");
    std::fs::write(&path, w.finish()).unwrap();
    let p = path.to_str().unwrap();

    let info = ok(&["info", "--model", p]);
    assert!(
        info.contains(
            "chat template: the model has no tokenizer.chat_template; falling back to ChatML"
        ),
        "{info}"
    );
    let out = hearth(&[
        "generate",
        "--model",
        p,
        "--chat",
        "--verbose",
        "--json",
        "What is the capital of France?",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("no chat template; using ChatML"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let prompt_ids: Vec<u32> = serde_json::from_value(v["prompt_ids"].clone()).unwrap();
    assert_eq!(prompt_ids, FRANCE_IDS);
    assert_eq!(v["text"], "The capital of France is Paris.");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_split_model_runs_from_any_part() {
    let dir = std::env::temp_dir().join(format!("hearth-cli-split-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.display().to_string();
    ok(&["split", "--model", &m(), "--parts", "3", "--out", &d]);
    let part = |k: usize| {
        dir.join(format!("SmolLM2-135M-Instruct.Q4_1-{k:05}-of-00003.gguf"))
            .display()
            .to_string()
    };
    let generate = |model: &str| {
        let out = ok(&[
            "generate",
            "--model",
            model,
            "--max-tokens",
            "24",
            "--json",
            FRANCE_PROMPT,
        ]);
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        (v["ids"].clone(), v["text"].clone())
    };
    let whole = generate(&m());
    assert_eq!(whole.1, "The capital of France is Paris.");
    assert_eq!(generate(&part(2)), whole);
    let info = ok(&["info", "--model", &part(1)]);
    let size = std::fs::metadata(model()).unwrap().len();
    for want in ["in 3 split files", "Q4_1 ×210", "Q8_0 ×1", "F32 ×61"] {
        assert!(info.contains(want), "info lacks {want:?}:\n{info}");
    }
    // the parts hold the same tensors, so about the same bytes (three headers, padding)
    let parts: u64 = (1..=3)
        .map(|k| std::fs::metadata(part(k)).unwrap().len())
        .sum();
    assert!(
        parts >= size && parts < size + (1 << 20),
        "{parts} vs {size}"
    );
    // a missing part is a clear error
    std::fs::remove_file(part(3)).unwrap();
    let err = fails(&["generate", "--model", &part(1), "--max-tokens", "1", "hi"]);
    assert!(err.contains("00003-of-00003.gguf"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
